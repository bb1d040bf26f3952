import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NBDSH_EXPECT_ERROR, nbdsh, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';

const SIZE = 8 * 1024 * 1024;

/** Python run under nbdsh before each script: assertion helpers for NBD errors. */
const PRELUDE = `
${NBDSH_EXPECT_ERROR}def still_usable():
    assert len(h.pread(512, 0)) == 512
h.set_strict_mode(0)
`;

describe('every NBD command, and every error, through nbdsh', () => {
  let dir: string;
  let image: string;
  let rw: ServerProcess;
  let ro: ServerProcess;

  beforeAll(async () => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    writeFileSync(image, Buffer.alloc(SIZE, 0x11));
    [rw, ro] = await Promise.all([startServer(['file', image]), startServer(['-r', 'file', image])]);
  });

  afterAll(async () => {
    await Promise.all([rw.stop(), ro.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const sh = (server: ServerProcess, script: string) => nbdsh(server.uri, PRELUDE + script, { baseAllocation: true });

  it('READ, WRITE with and without FUA, FLUSH, CACHE, WRITE_ZEROES, BLOCK_STATUS', async () => {
    await sh(
      rw,
      `
h.pwrite(b"\\xaa" * 4096, 4096)
h.pwrite(b"\\xbb" * 512, 65536, nbd.CMD_FLAG_FUA)
h.flush()
assert h.pread(4096, 4096) == b"\\xaa" * 4096
assert h.pread(512, 65536, nbd.CMD_FLAG_DF) == b"\\xbb" * 512
h.cache(65536, 0)
h.zero(8192, 131072)
h.zero(8192, 139264, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FUA)
h.zero(4096, 147456)
assert h.pread(8192 + 8192 + 4096, 131072) == bytes(20480)
seen = []
def cb(metacontext, offset, entries, err):
    seen.append((metacontext, offset, list(entries)))
h.block_status(65536, 0, cb)
# The last extent may run past the request (what the layer knows anyway); the others may not reach its end.
assert seen[0][0] == "base:allocation" and sum(seen[0][2][0::2]) >= 65536 and sum(seen[0][2][0:-2:2]) < 65536, seen
seen.clear()
h.block_status(65536, 0, cb, nbd.CMD_FLAG_REQ_ONE)
assert len(seen[0][2]) == 2 and seen[0][2][0] <= 65536, seen
still_usable()
`,
    );
    const data = readFileSync(image);
    expect(data.subarray(4096, 8192).every((b) => b === 0xaa)).toBe(true);
    expect(data.subarray(65536, 65536 + 512).every((b) => b === 0xbb)).toBe(true);
    expect(data.subarray(131072, 151552).every((b) => b === 0)).toBe(true);
  });

  it('TRIM discards a range, with and without FUA, and refuses one past the end', async () => {
    await sh(
      rw,
      `
assert h.can_trim()
h.trim(65536, 6 * 1024 * 1024)
h.trim(4096, 7 * 1024 * 1024, nbd.CMD_FLAG_FUA)
expect_error(errno.EINVAL, h.trim, 8192, h.get_size() - 4096)
still_usable()
`,
    );
  });

  it('count 0 gives EINVAL', async () => {
    await sh(
      rw,
      `
expect_error(errno.EINVAL, h.pread, 0, 0)
expect_error(errno.EINVAL, h.zero, 0, 0)
expect_error(errno.EINVAL, h.cache, 0, 0)
still_usable()
`,
    );
  });

  it('past the end gives EINVAL for reads, ENOSPC for writes and zeroes', async () => {
    await sh(
      rw,
      `
size = h.get_size()
expect_error(errno.EINVAL, h.pread, 512, size)
expect_error(errno.EINVAL, h.pread, 1024, size - 512)
expect_error(errno.ENOSPC, h.pwrite, b"x" * 1024, size - 512)
expect_error(errno.ENOSPC, h.zero, 1024, size - 512)
expect_error(errno.EINVAL, h.cache, 1024, size - 512)
expect_error(errno.EINVAL, h.pread, 512, 2**63)
still_usable()
`,
    );
  });

  it('unknown flags, flags on the wrong command and unadvertised flags give EINVAL', async () => {
    await sh(
      rw,
      `
expect_error(errno.EINVAL, h.pread, 512, 0, 0x40)
expect_error(errno.EINVAL, h.pread, 512, 0, nbd.CMD_FLAG_NO_HOLE)
expect_error(errno.EINVAL, h.pwrite, b"x" * 512, 0, nbd.CMD_FLAG_DF)
expect_error(errno.EINVAL, h.pwrite, b"x" * 512, 0, nbd.CMD_FLAG_FAST_ZERO)
expect_error(errno.EINVAL, h.pread, 512, 0, nbd.CMD_FLAG_REQ_ONE)
still_usable()
`,
    );
  });

  it('a read-only export refuses writes, zeroes and trims with EPERM', async () => {
    await sh(
      ro,
      `
assert h.is_read_only()
expect_error(errno.EPERM, h.pwrite, b"x" * 512, 0)
expect_error(errno.EPERM, h.zero, 512, 0)
expect_error(errno.EPERM, h.trim, 512, 0)
expect_error(errno.EINVAL, h.pwrite, b"x" * 512, 0, nbd.CMD_FLAG_FUA)
still_usable()
`,
    );
    expect(readFileSync(image).subarray(0, 512).every((b) => b === 0x11)).toBe(true);
  });

  it('FUA and FAST_ZERO are refused where not advertised', async () => {
    await sh(
      ro,
      `
assert not h.can_fua()
expect_error(errno.EINVAL, h.pread, 512, 0, nbd.CMD_FLAG_FUA)
expect_error(errno.EINVAL, h.flush, nbd.CMD_FLAG_FAST_ZERO)
still_usable()
`,
    );
  });
});
