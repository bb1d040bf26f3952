import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';
import { exportInfo, MiB, nbdinfoMap, qemuMap, sparseImage, WITHOUT_KOFFI } from './disk.js';

const SIZE = 16 * MiB;

describe('without the native calls', () => {
  let dir: string;
  let image: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempDir();
    image = join(dir, 'sparse.img');
    await sparseImage(image, SIZE, [[4 * MiB, MiB]]);
    server = await startServer(['-v', 'file', image], { env: WITHOUT_KOFFI });
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says so once under -v, naming the reason, when a request first needs them', async () => {
    await runOk('nbdinfo', ['--map', server.uri]);
    await runOk('nbdinfo', ['--map', server.uri]);
    const lines = server.stderr().split('\n').filter((l) => l.includes('native file operations'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^nbdkit-ts: file\b.*: debug: native file operations unavailable \(cannot load koffi: Cannot find package 'koffi'\): trim and cache do nothing, zero writes zeroes, block status reports data$/);
  });

  it('advertises what it advertises with them: trim and cache do nothing, zero is written by the server', async () => {
    expect(await exportInfo(server.uri)).toMatchObject({ can_trim: true, can_zero: true, can_fast_zero: true, can_cache: true, is_read_only: false });
  });

  it('block status reports everything as data, though the file has holes', async () => {
    expect((await qemuMap(image)).some((e) => !e.data)).toBe(true);
    expect(await nbdinfoMap(server.uri)).toEqual([{ start: 0, length: SIZE, data: true, zero: false }]);
  });

  it('zero writes zeroes; a FAST_ZERO request fails at once with ENOTSUP; trim and cache change nothing', async () => {
    await nbdsh(
      server.uri,
      `
try:
    h.zero(${MiB}, ${4 * MiB}, nbd.CMD_FLAG_FAST_ZERO)
    raise SystemExit('the fast zero succeeded')
except nbd.Error as e:
    assert e.errno == 'ENOTSUP', e
h.trim(${MiB}, ${4 * MiB})
assert h.pread(${MiB}, ${4 * MiB}) != bytes(${MiB})
h.zero(${MiB}, ${4 * MiB})
h.cache(${MiB}, 0)
assert h.pread(${MiB}, ${4 * MiB}) == bytes(${MiB})
`,
    );
    expect(readFileSync(image).subarray(4 * MiB, 5 * MiB).every((b) => b === 0)).toBe(true);
  });

  it('cache= and fadvise= cannot be honoured: a warning says so, even without -v', async () => {
    const s = await startServer(['file', image, 'cache=none', 'fadvise=random'], { env: WITHOUT_KOFFI });
    try {
      expect(s.stderr()).toMatch(/^nbdkit-ts: file\b.*: warning: cache=none fadvise=random: ignored, they need the native file operations/m);
      await nbdsh(s.uri, `assert h.pread(4, 0) == bytes(4)`);
    } finally {
      await s.stop();
    }
  });
});
