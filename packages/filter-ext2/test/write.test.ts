import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, runOk, startServer, tempDir } from '@nbdkit-ts/testing';
import { applyWorkload, debugfs, dump, fsck, makeImage, makeTree, randomWorkload, replayScript, saveWorkload, type Kind, type Tree } from './fixtures.js';

const KINDS: Kind[] = ['ext2', 'ext3', 'ext4', 'ext4-csum-inline'];

describe('writing files inside ext2/3/4 images', () => {
  let dir: string;
  let tree: Tree;

  beforeAll(() => {
    dir = tempDir();
    tree = makeTree(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe.each(KINDS)('%s', (kind) => {
    it('seeded random writes, zeroes and FUA leave e2fsck clean and debugfs dump equal to what was written', async () => {
      const image = join(dir, `${kind}.img`);
      await makeImage(image, kind, tree);
      const targets = ['/disks/sparse.img', '/disks/vm.img', '/small.bin'];
      const expected = new Map<string, Buffer>();
      for (const seed of [1, 2]) {
        const server = await startServer(['--filter=ext2', 'file', image, 'ext2file=exportname']);
        try {
          for (const [i, path] of targets.entries()) {
            const before = expected.get(path) ?? (tree.files.get(path) as Buffer);
            const w = randomWorkload(seed * 10 + i, before.length, path === '/small.bin' ? 20 : 150, path === '/small.bin' ? 40 : 65536);
            await nbdsh(server.uriFor(path), replayScript(saveWorkload(dir, `${kind}-${seed}-${i}`, w)));
            expected.set(path, applyWorkload(before, w));
            const out = join(dir, 'read-back.bin');
            await runOk('nbdcopy', [server.uriFor(path), out]);
            expect(readFileSync(out).equals(expected.get(path) as Buffer), `read back ${path} seed ${seed}`).toBe(true);
          }
        } finally {
          await server.stop();
        }
        await fsck(image);
        for (const path of targets) {
          expect((await dump(image, path, join(dir, 'dumped.bin'))).equals(expected.get(path) as Buffer), `dump ${path} seed ${seed}`).toBe(true);
        }
      }
    });
  });

  it('writes into unwritten (preallocated) extents: zeroes until written, then data', async () => {
    const image = join(dir, 'prealloc.img');
    await makeImage(image, 'ext4', tree);
    await debugfs(image, 'fallocate /prealloc.img 0 199', true);
    expect(await debugfs(image, 'stat /prealloc.img')).toMatch(/\[u\]/);
    const server = await startServer(['--filter=ext2', 'file', image, 'ext2file=/prealloc.img']);
    const before = tree.files.get('/prealloc.img') as Buffer;
    const w = randomWorkload(42, before.length, 60, 20000);
    try {
      const map = JSON.parse((await runOk('nbdinfo', ['--map', '--json', server.uri])).stdout) as { offset: number; type: number }[];
      expect(map[0]).toMatchObject({ offset: 0, type: 2 });
      await nbdsh(server.uri, replayScript(saveWorkload(dir, 'prealloc', w)));
    } finally {
      await server.stop();
    }
    await fsck(image);
    expect((await dump(image, '/prealloc.img', join(dir, 'dumped.bin'))).equals(applyWorkload(before, w))).toBe(true);
  });
});
