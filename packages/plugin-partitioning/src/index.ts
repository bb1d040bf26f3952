/**
 * `@nbdkit-ts/plugin-partitioning`: a partitioned virtual disk made of files,
 * one partition each, with a generated MBR or GPT, as nbdkit's partitioning
 * plugin makes it.
 *
 * @packageDocumentation
 */
import { resolve } from 'node:path';
import { definePlugin, parseInteger, parseSize, type PluginHandle } from '@nbdkit-ts/core';
import { createDiskLayout, defaultPartitionType, type PartitionType } from './disk-layout.js';
import { LINUX_FILESYSTEM_GUID, parseGuid, randomGuid } from './guid.js';
import { MAX_ALIGNMENT, SECTOR, type Layout } from './layout.js';
import { partitionFileSize, type PartitionFile } from './partition-file.js';
import { VirtualDisk } from './virtual-disk.js';

/** The MBR type byte of a Linux filesystem, the default of `mbr-id=`. */
const LINUX_FILESYSTEM_MBR_ID = 0x83;

function parsePartitionType(key: string, value: string): PartitionType {
  const v = value.toLowerCase();
  if (v === 'mbr' || v === 'dos') return 'mbr';
  if (v === 'gpt') return 'gpt';
  throw new Error(`${key}=${value}: expected mbr (or dos) or gpt`);
}

function parseAlignment(key: string, value: string): bigint {
  const n = parseSize(key, value);
  if (n < SECTOR || n > MAX_ALIGNMENT || (n & (n - 1n)) !== 0n) throw new Error(`${key}=${value}: expected a power of two from 512 to 1M`);
  return n;
}

function parseTypeGuid(key: string, value: string): Buffer {
  const guid = parseGuid(value.toLowerCase() === 'default' ? LINUX_FILESYSTEM_GUID : value);
  if (guid === undefined) throw new Error(`${key}=${value}: expected a GUID such as ${LINUX_FILESYSTEM_GUID}, or default`);
  return guid;
}

export default definePlugin<PluginHandle>(() => {
  // Settings for the files that follow them on the command line.
  let alignment = MAX_ALIGNMENT;
  let mbrId = LINUX_FILESYSTEM_MBR_ID;
  let typeGuid = parseTypeGuid('type-guid', 'default');
  let partitionType: PartitionType | undefined;
  const files: PartitionFile[] = [];
  let layout: Layout | undefined;

  return {
    apiVersion: 1,
    name: 'partitioning',
    description: 'a partitioned disk (MBR or GPT) made of files, one partition each',
    params: [
      { name: 'file', description: 'a file holding a partition (repeat it, in order; at least one)', magic: true },
      { name: 'partition-type', description: 'mbr or gpt (default: mbr for up to 4 files under 2 TiB, else gpt)' },
      { name: 'alignment', description: 'the following partitions start at a multiple of this, a power of two from 512 to 1M (default 1M)' },
      { name: 'mbr-id', description: 'MBR type byte of the following partitions, 0xN or default (0x83)' },
      { name: 'type-guid', description: `GPT partition type GUID of the following partitions, or default (${LINUX_FILESYSTEM_GUID})` },
    ],
    concurrency: 'parallel',
    config(key, value) {
      switch (key) {
        case 'file':
          files.push({ name: value, path: resolve(value), size: partitionFileSize(key, value), alignment, mbrId, typeGuid, uniqueGuid: randomGuid() });
          break;
        case 'partition-type':
          partitionType = parsePartitionType(key, value);
          break;
        case 'alignment':
          alignment = parseAlignment(key, value);
          break;
        case 'mbr-id':
          mbrId = value.toLowerCase() === 'default' ? LINUX_FILESYSTEM_MBR_ID : parseInteger(key, value, 0, 255);
          break;
        case 'type-guid':
          typeGuid = parseTypeGuid(key, value);
          break;
      }
    },
    configComplete() {
      if (files.length === 0) throw new Error('no file given: nbdkit-ts partitioning FILE [FILE...]');
      layout = createDiskLayout(files, partitionType ?? defaultPartitionType(files), randomGuid());
    },
    ready(host) {
      if (layout === undefined || host.debugFlag('regions') === 0) return;
      for (const [i, r] of layout.regions.entries()) {
        const what = r.kind === 'file' ? (files[r.file]?.name ?? '') : r.kind === 'table' ? r.name : 'padding';
        host.log.debug(`region ${i}: bytes 0x${r.start.toString(16)}-0x${(r.start + r.length - 1n).toString(16)}: ${what}`);
      }
    },
    async open(info) {
      if (layout === undefined) throw new Error('the disk was not laid out');
      const disk = await VirtualDisk.open(layout, files, info.readonly);
      const size = layout.size;
      return {
        capabilities: () => ({ size, canMultiConn: true, canCache: 'emulate' }),
        pread: (buf, offset) => disk.read(buf, offset),
        pwrite: (buf, offset) => disk.write(buf, offset),
        flush: () => disk.flush(),
        close: () => disk.close(),
      };
    },
  };
});
