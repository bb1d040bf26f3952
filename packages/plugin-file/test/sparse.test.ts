import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';
import { allocated, dataBytes, exportInfo, MiB, nbdinfoMap, qemuMap, sparseImage } from './disk.js';

const SIZE = 64 * MiB;

describe('a sparse image: trim, zero and block status', () => {
  let dir: string;
  let image: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempDir();
    image = join(dir, 'sparse.img');
    await sparseImage(image, SIZE, [
      [0, MiB],
      [10 * MiB, 4 * MiB],
      [40 * MiB, 512 * 1024],
      [SIZE - MiB, MiB],
    ]);
    // Allocated but never written: an unwritten extent, which reads as zeroes.
    await runOk('fallocate', ['-o', String(24 * MiB), '-l', String(2 * MiB), image]);
    server = await startServer(['-v', '-D', 'file.zero=1', 'file', image]);
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const expectMapsAgree = async () => {
    const raw = await qemuMap(image);
    expect(await nbdinfoMap(server.uri)).toEqual(raw);
    expect(await qemuMap(server.uri)).toEqual(raw);
    return raw;
  };

  it('advertises trim, zero, fast zero, cache and base:allocation', async () => {
    const e = await exportInfo(server.uri);
    expect(e).toMatchObject({ can_trim: true, can_zero: true, can_fast_zero: true, can_cache: true, is_read_only: false });
    expect(e['contexts']).toContain('base:allocation');
  });

  it('block status over NBD (nbdinfo --map, qemu-img map) agrees with qemu-img map of the raw file', async () => {
    const raw = await expectMapsAgree();
    const dataAt = (offset: number) => raw.find((e) => e.start <= offset && offset < e.start + e.length)?.data;
    expect([0, 10 * MiB, 14 * MiB - 1, 40 * MiB, SIZE - 1].map(dataAt)).toEqual([true, true, true, true, true]);
    expect([MiB, 20 * MiB, 50 * MiB].map(dataAt)).toEqual([false, false, false]);
  });

  it('trim punches a hole: the file shrinks and the range becomes a hole', async () => {
    const before = allocated(image);
    await nbdsh(server.uri, `h.trim(${2 * MiB}, ${10 * MiB})`);
    // Splitting an extent may cost the file system a block of metadata.
    expect(before - allocated(image)).toBeGreaterThanOrEqual(2 * MiB - statSync(image).blksize);
    const map = await expectMapsAgree();
    // The hole after the first MiB now runs to the end of the trimmed range.
    expect(map).toContainEqual({ start: MiB, length: 11 * MiB, data: false, zero: true });
  });

  it('zero (may trim) punches a hole and the range reads as zeroes', async () => {
    const before = allocated(image);
    await nbdsh(server.uri, `h.zero(${MiB}, ${12 * MiB})\nassert h.pread(${MiB}, ${12 * MiB}) == bytes(${MiB})`);
    expect(before - allocated(image)).toBeGreaterThanOrEqual(MiB - statSync(image).blksize);
    expect(server.stderr()).toContain(`zero: ${MiB} bytes at ${12 * MiB}: punch hole`);
    expect(readFileSync(image).subarray(12 * MiB, 13 * MiB).every((b) => b === 0)).toBe(true);
    await expectMapsAgree();
  });

  it('zero with NO_HOLE uses ZERO_RANGE: zeroes without deallocating', async () => {
    const before = allocated(image);
    await nbdsh(server.uri, `h.zero(${512 * 1024}, ${40 * MiB}, nbd.CMD_FLAG_NO_HOLE)\nassert h.pread(${512 * 1024}, ${40 * MiB}) == bytes(${512 * 1024})`);
    expect(allocated(image)).toBeGreaterThan(before - 512 * 1024);
    expect(server.stderr()).toContain(`zero: ${512 * 1024} bytes at ${40 * MiB}: ZERO_RANGE`);
    await expectMapsAgree();
  });

  it('FAST_ZERO is honoured where a fast method exists', async () => {
    await nbdsh(server.uri, `h.zero(65536, ${13 * MiB}, nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_NO_HOLE)\nassert h.pread(65536, ${13 * MiB}) == bytes(65536)`);
    expect(server.stderr()).toContain(`zero: 65536 bytes at ${13 * MiB}: ZERO_RANGE`);
  });

  it('block status with REQ_ONE returns one extent, without it several', async () => {
    const script = (flags: string) => `
entries = []
def f(meta, offset, e, err):
    entries.extend(e)
h.block_status(${SIZE}, 0, f, ${flags})
print(len(entries) // 2)
`;
    const status = (flags: string) => runOk('nbdsh', ['--base-allocation', '-u', server.uri, '-c', script(flags)]);
    const one = await status('nbd.CMD_FLAG_REQ_ONE');
    const all = await status('0');
    expect(Number(one.stdout)).toBe(1);
    expect(Number(all.stdout)).toBe((await qemuMap(image)).length);
  });

  it('qemu-img convert -O raw from the export keeps the target sparse', async () => {
    const out = join(dir, 'converted.img');
    await runOk('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', server.uri, out]);
    await runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', image, out]);
    expect(allocated(out)).toBeLessThanOrEqual(dataBytes(await qemuMap(image)));
  });
});

describe('nbdcopy of a mostly empty 4 GiB image', () => {
  const BIG = 4 * 1024 * MiB;
  const DATA = [
    [0, MiB],
    [2048 * MiB, MiB],
    [BIG - MiB, MiB],
  ] as const;
  let dir: string;
  let source: string;

  beforeAll(async () => {
    dir = tempDir();
    source = join(dir, 'big.img');
    await sparseImage(source, BIG, DATA);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('copies only the data out of the export: the copy is as sparse as the image', async () => {
    const server = await startServer(['-r', 'file', source]);
    try {
      const out = join(dir, 'out.img');
      // -S 0: no detection of zeroes in the data read, so only block status can keep holes out of the copy.
      await runOk('nbdcopy', ['-S', '0', server.uri, out]);
      await runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', source, out]);
      expect(allocated(out)).toBeLessThanOrEqual(dataBytes(await nbdinfoMap(server.uri)));
    } finally {
      await server.stop();
    }
  });

  it('copying into the export zeroes old data by punching holes: the target ends as sparse as the source', async () => {
    const target = join(dir, 'target.img');
    // Old data where the source has holes, and where it has data.
    await sparseImage(target, BIG, [
      [512 * MiB, 8 * MiB],
      [2048 * MiB, MiB],
      [3000 * MiB, 8 * MiB],
    ]);
    const server = await startServer(['file', target]);
    try {
      await runOk('nbdcopy', ['-S', '0', source, server.uri]);
    } finally {
      await server.stop();
    }
    await runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', source, target]);
    expect(allocated(target)).toBeLessThanOrEqual(dataBytes(await qemuMap(source)));
  });
});

describe('the native calls', () => {
  it('are loaded by the first request that needs them, not by a client that only asks the size or reads', async () => {
    const dir = tempDir();
    const image = join(dir, 'sparse.img');
    await sparseImage(image, 4 * MiB, [[MiB, MiB]]);
    const server = await startServer(['-v', 'file', image]);
    const loaded = () => server.stderr().split('\n').filter((l) => l.includes('native file operations'));
    try {
      await runOk('nbdinfo', ['--size', server.uri]);
      await nbdsh(server.uri, `assert h.pread(4, 0) == bytes(4)`);
      expect(loaded()).toEqual([]);
      expect(await nbdinfoMap(server.uri)).toEqual(await qemuMap(image));
      expect(loaded()).toHaveLength(1);
      expect(loaded()[0]).toMatch(/: debug: native file operations: koffi \d/);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
