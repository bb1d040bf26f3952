import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';
import { MiB, nbdinfoMap, qemuMap, sparseImage } from './disk.js';

/**
 * Serves an image with 1 MiB of data on a freshly mounted file system of
 * `type` and logs every zero method (-D file.zero=1).
 */
function onFileSystem(type: string, options: string[]) {
  const state = { dir: '', image: '', server: undefined as unknown as ServerProcess };
  beforeAll(async () => {
    state.dir = tempDir();
    const mnt = join(state.dir, type);
    mkdirSync(mnt);
    await runOk('mount', ['-t', type, ...options, type, mnt]);
    state.image = join(mnt, 'disk.img');
    await sparseImage(state.image, 8 * MiB, [[0, MiB]]);
    state.server = await startServer(['-v', '-D', 'file.zero=1', 'file', state.image]);
  });
  afterAll(async () => {
    await state.server.stop();
    await runOk('umount', [join(state.dir, type)]);
    rmSync(state.dir, { recursive: true, force: true });
  });
  return state;
}

/** The `-D file.zero=1` messages, without the prefix naming the server, layer and connection. */
const zeroLines = (stderr: string) => stderr.split('\n').flatMap((l) => /debug: (zero: .*)/.exec(l)?.[1] ?? []);

describe.skipIf(process.getuid?.() !== 0)('zeroing where fallocate can do less', () => {
  describe('tmpfs: no ZERO_RANGE, so punch a hole and allocate it again', () => {
    const fs = onFileSystem('tmpfs', ['-o', 'size=64M']);

    it('switches ZERO_RANGE off once and then punches and allocates', async () => {
      await nbdsh(
        fs.server.uri,
        `
h.zero(65536, 0, nbd.CMD_FLAG_NO_HOLE)
h.zero(65536, 262144, nbd.CMD_FLAG_NO_HOLE)
assert h.pread(65536, 0) == bytes(65536)
assert h.pread(65536, 262144) == bytes(65536)
assert h.pread(4, 131072) != bytes(4)
`,
      );
      expect(zeroLines(fs.server.stderr())).toEqual([
        'zero: ZERO_RANGE is not supported here (EOPNOTSUPP), switched off',
        'zero: 65536 bytes at 0: punch hole, then allocate',
        'zero: 65536 bytes at 262144: punch hole, then allocate',
      ]);
      expect(await nbdinfoMap(fs.server.uri)).toEqual(await qemuMap(fs.image));
    });
  });

  describe('ramfs: no fallocate at all, so the server writes zeroes', () => {
    const fs = onFileSystem('ramfs', []);

    it('falls back to writing zeroes, and fails FAST_ZERO with ENOTSUP', async () => {
      await nbdsh(
        fs.server.uri,
        `
h.zero(65536, 0)
h.zero(65536, 262144, nbd.CMD_FLAG_NO_HOLE)
try:
    h.zero(65536, 524288, nbd.CMD_FLAG_FAST_ZERO)
    raise SystemExit('the fast zero succeeded')
except nbd.Error as e:
    assert e.errno == 'ENOTSUP', e
`,
      );
      const data = readFileSync(fs.image);
      expect(data.subarray(0, 65536).every((b) => b === 0)).toBe(true);
      expect(data.subarray(262144, 262144 + 65536).every((b) => b === 0)).toBe(true);
      expect(data.subarray(524288, 524288 + 65536).every((b) => b === 0)).toBe(false);
      expect(zeroLines(fs.server.stderr())).toEqual([
        'zero: punch hole is not supported here (EOPNOTSUPP), switched off',
        'zero: ZERO_RANGE is not supported here (EOPNOTSUPP), switched off',
        'zero: 65536 bytes at 0: no efficient method left, falling back to writing zeroes',
        'zero: 65536 bytes at 262144: no efficient method left, falling back to writing zeroes',
        'zero: 65536 bytes at 524288: no efficient method left, failing the fast zero',
      ]);
    });

    it('trim is advice: where no hole can be punched it succeeds and leaves the data', async () => {
      await nbdsh(fs.server.uri, `h.trim(65536, 131072)\nassert h.pread(4, 131072) != bytes(4)`);
    });
  });
});
