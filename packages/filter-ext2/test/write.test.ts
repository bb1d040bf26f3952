import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nbdsh, runOk, startServer } from '@nbdkit-ts/testing';
import { applyWorkload, debugfs, dumpEquals, fileEquals, fsck, makeImage, randomWorkload, replayScript, saveWorkload, type Kind, useScratchTree } from './fixtures.js';

const KINDS: Kind[] = ['ext2', 'ext3', 'ext4', 'ext4-csum-inline'];

describe('writing files inside ext2/3/4 images', () => {
  const scratch = useScratchTree();

  describe.each(KINDS)('%s', (kind) => {
    it('seeded random writes, zeroes and FUA leave e2fsck clean and debugfs dump equal to what was written', async () => {
      const image = join(scratch.dir, `${kind}.img`);
      await makeImage(image, kind, scratch.tree);
      const targets = ['/disks/holes.img', '/disks/vm.img', '/small.bin'];
      const expected = new Map<string, Buffer>();
      for (const seed of [1, 2]) {
        const server = await startServer(['--filter=ext2', 'file', image, 'ext2file=exportname']);
        try {
          for (const [i, path] of targets.entries()) {
            const contents = expected.get(path) ?? Buffer.from(scratch.tree.files.get(path) as Buffer);
            const w = randomWorkload(seed * 10 + i, contents.length, path === '/small.bin' ? 20 : 150, path === '/small.bin' ? 40 : 65536);
            await nbdsh(server.uriFor(path), replayScript(saveWorkload(scratch.dir, `${kind}-${seed}-${i}`, w)));
            applyWorkload(contents, w);
            expected.set(path, contents);
            if (seed === 2) {
              const out = join(scratch.dir, 'read-back.bin');
              await runOk('nbdcopy', [server.uriFor(path), out]);
              expect(fileEquals(out, contents), `read back ${path}`).toBe(true);
            }
          }
        } finally {
          await server.stop();
        }
        await fsck(image);
      }
      for (const path of targets) {
        expect(await dumpEquals(image, path, join(scratch.dir, 'dumped.bin'), expected.get(path) as Buffer), `dump ${path}`).toBe(true);
      }
    });
  });

  it('writes into unwritten (preallocated) extents: zeroes until written, then data', async () => {
    const image = join(scratch.dir, 'prealloc.img');
    await makeImage(image, 'ext4', scratch.tree);
    await debugfs(image, 'fallocate /prealloc.img 0 199', true);
    expect(await debugfs(image, 'stat /prealloc.img')).toMatch(/\[u\]/);
    const server = await startServer(['--filter=ext2', 'file', image, 'ext2file=/prealloc.img']);
    const contents = Buffer.from(scratch.tree.files.get('/prealloc.img') as Buffer);
    const w = randomWorkload(42, contents.length, 60, 20000);
    try {
      const map = JSON.parse((await runOk('nbdinfo', ['--map', '--json', server.uri])).stdout) as { offset: number; type: number }[];
      expect(map[0]).toMatchObject({ offset: 0, type: 2 });
      await nbdsh(server.uri, replayScript(saveWorkload(scratch.dir, 'prealloc', w)));
    } finally {
      await server.stop();
    }
    await fsck(image);
    applyWorkload(contents, w);
    expect(await dumpEquals(image, '/prealloc.img', join(scratch.dir, 'dumped.bin'), contents)).toBe(true);
  });

  it('ext2 with 1 KiB blocks: writes into holes mapped by double and triple indirect blocks', async () => {
    const image = join(scratch.dir, 'indirect.img');
    await makeImage(image, 'ext2', scratch.tree);
    const contents = Buffer.from(scratch.tree.files.get('/disks/sparse.img') as Buffer);
    const MiB = 1024 * 1024;
    // 12 direct + 256 single + 65536 double-indirect blocks end at 65804 KiB: these land past it, and around 1 MiB.
    const w = randomWorkload(77, 16 * MiB, 40, 40000);
    const ops = w.ops.map((op) => ({ ...op, off: op.off + (op.off < 8 * MiB ? 65 * MiB : 0) }));
    const moved = { ops, data: w.data };
    const server = await startServer(['--filter=ext2', 'file', image, 'ext2file=/disks/sparse.img']);
    try {
      await nbdsh(server.uri, replayScript(saveWorkload(scratch.dir, 'indirect', moved)));
    } finally {
      await server.stop();
    }
    applyWorkload(contents, moved);
    await fsck(image);
    expect(await dumpEquals(image, '/disks/sparse.img', join(scratch.dir, 'dumped.bin'), contents)).toBe(true);
  });
});
