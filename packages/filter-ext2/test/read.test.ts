import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runOk, startServer } from '@nbdkit-ts/testing';
import { fileEquals, makeImage, type Kind, useScratchTree } from './fixtures.js';

interface MapEntry {
  offset: number;
  length: number;
  type: number;
}

/** nbdinfo --map: the base:allocation extents of an export. */
async function allocationMap(uri: string): Promise<MapEntry[]> {
  return JSON.parse((await runOk('nbdinfo', ['--map', '--json', uri])).stdout) as MapEntry[];
}

const KINDS: Kind[] = ['ext2', 'ext3', 'ext4', 'ext4-csum-inline', 'ext4-64k'];
const FILES = ['/disks/vm.img', '/disks/sparse.img', '/disks/holes.img', '/disks/frag.img', '/tiny.txt', '/small.bin', '/many/target.bin'];

describe('reading files out of ext2/3/4 images', () => {
  const scratch = useScratchTree();

  describe.each(KINDS)('%s', (kind) => {
    let image: string;
    beforeAll(async () => {
      image = join(scratch.dir, `${kind}.img`);
      await makeImage(image, kind, scratch.tree, kind === 'ext4-64k' ? '256M' : '128M');
    });

    // With 64 KiB blocks the directory fits in one block and needs no index.
    it.runIf(kind !== 'ext4-64k')('finds files through an htree-indexed directory', async () => {
      expect((await runOk('debugfs', ['-R', 'htree /many', image])).stdout).toMatch(/Root node dump/);
    });

    it('serves every file byte for byte (ext2file=exportname, nbdcopy)', async () => {
      const server = await startServer(['--filter=ext2', 'file', image, 'ext2file=exportname', '-r']);
      try {
        for (const path of FILES) {
          const out = join(scratch.dir, `${kind}-out.bin`);
          await runOk('nbdcopy', [server.uriFor(path), out]);
          expect(fileEquals(out, scratch.tree.files.get(path) as Buffer), `${kind} ${path}`).toBe(true);
        }
      } finally {
        await server.stop();
      }
    });

    it('reports the holes of a sparse file, and reads them as zeroes', async () => {
      const server = await startServer(['--filter=ext2', 'file', image, 'ext2file=/disks/sparse.img']);
      try {
        const map = await allocationMap(server.uri);
        const MiB = 1024 * 1024;
        const typeAt = (at: number) => map.find((e) => e.offset <= at && at < e.offset + e.length)?.type;
        expect(typeAt(0)).toBe(0);
        expect(typeAt(3 * MiB)).toBe(0);
        expect(typeAt(70 * MiB + 100)).toBe(0);
        expect(typeAt(80 * MiB - 1)).toBe(0);
        for (const hole of [MiB, 10 * MiB, 40 * MiB, 75 * MiB, 79 * MiB]) expect(typeAt(hole), `${hole}`).toBe(3);
        const total = map.reduce((n, e) => n + e.length, 0);
        expect(total).toBe(80 * MiB);
      } finally {
        await server.stop();
      }
    });
  });
});
