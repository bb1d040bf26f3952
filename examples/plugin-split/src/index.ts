/**
 * `nbdkit-ts-plugin-split`: serve several files, one after the other, as one
 * disk (a disk image split into parts, or parts to be joined).
 *
 * @packageDocumentation
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { definePlugin, errorMessage, type PluginHandle } from '@nbdkit-ts/core';
import { SplitDisk } from './split-disk.js';

export default definePlugin<PluginHandle>(() => {
  const files: string[] = [];
  return {
    // The API version this layer was written for, as a literal: the server refuses it when
    // it implements another one (API_VERSION would always agree with the core installed).
    apiVersion: 1,
    name: 'split',
    description: 'serve several files, one after the other, as one disk',
    params: [{ name: 'file', description: 'a file of the disk (repeat it, in order)', magic: true }],
    concurrency: 'parallel',
    config(key, value) {
      if (value === '') throw new Error(`${key}=: expected a file name`);
      const path = resolve(value);
      let isFile: boolean;
      try {
        isFile = statSync(path).isFile();
      } catch (e) {
        throw new Error(`${key}=${value}: ${errorMessage(e)}`, { cause: e });
      }
      if (!isFile) throw new Error(`${key}=${value}: not a regular file`);
      files.push(path);
    },
    configComplete() {
      if (files.length === 0) throw new Error('no file given: nbdkit-ts split FILE [FILE...]');
    },
    open(info) {
      const disk = new SplitDisk(files, info.readonly);
      return {
        capabilities: () => ({ size: disk.size, canMultiConn: true }),
        pread: (buf, offset) => disk.read(buf, offset),
        pwrite: (buf, offset) => disk.write(buf, offset),
        flush: () => disk.flush(),
        close: () => disk.close(),
      };
    },
  };
});
