import { openSync, closeSync, ftruncateSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { MEMORY_PLUGIN, NBDSH_EXPECT_ERROR, nbdsh, runOk, startServer, tempDir } from '@nbdkit-ts/testing';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const MiB = 1024 * 1024;

/** Starts `nbdkit-ts --filter=invert ARGS...`, gives its URI to `use`, then stops it and checks it said nothing. */
async function serving(args: readonly string[], use: (uri: string) => Promise<unknown>): Promise<void> {
  const server = await startServer([`--filter=${FILTER}`, ...args]);
  try {
    await use(server.uri);
  } finally {
    expect(await server.stop()).toBe(0);
  }
  expect(server.stderr()).toBe('');
}

describe('the invert filter over a file', () => {
  const dir = tempDir();
  const image = join(dir, 'disk.img');
  /** The first 64 KiB of the image: bytes 0, 1, ..., 255, again and again. */
  const head = Buffer.from(Array.from({ length: 65536 }, (_, i) => i % 256));
  /** The same in Python, for nbdsh. */
  const HEAD = 'bytes(i % 256 for i in range(65536))';

  beforeEach(() => writeFileSync(image, Buffer.concat([head, Buffer.alloc(MiB - head.length)])));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every byte of the disk beneath inverted', async () => {
    await serving(['file', image], (uri) =>
      nbdsh(uri, `
assert h.get_size() == ${MiB}
assert h.pread(65536, 0) == bytes(b ^ 0xff for b in ${HEAD})
assert h.pread(4096, ${MiB - 4096}) == b"\\xff" * 4096
`),
    );
  });

  it('writes the inverse of what a client writes, so that it reads back as written', async () => {
    await serving(['file', image], async (uri) => {
      const { stdout } = await runOk('qemu-io', ['-f', 'raw', '-c', 'write -P 0xab 64k 64k', '-c', 'read -P 0xab 64k 64k', uri]);
      expect(stdout).not.toContain('Pattern verification failed');
    });
    const disk = readFileSync(image);
    expect(disk.subarray(65536, 131072).equals(Buffer.alloc(65536, 0x54))).toBe(true); // 0xab ^ 0xff
    expect(disk.subarray(0, 65536).equals(head)).toBe(true);
    expect(disk.subarray(131072, 131072 + 4096).equals(Buffer.alloc(4096))).toBe(true);
  });

  it('zeroes by writing 0xff bytes beneath, with or without permission to punch holes', async () => {
    await serving(['file', image], async (uri) => {
      // -z: a write-zeroes request; -u lets the server punch holes (the filter ignores that).
      const { stdout } = await runOk('qemu-io', ['-f', 'raw', '-c', 'write -z 0 16k', '-c', 'write -z -u 16k 16k', '-c', 'read -P 0 0 32k', uri]);
      expect(stdout).not.toContain('Pattern verification failed');
    });
    const disk = readFileSync(image);
    expect(disk.subarray(0, 32768).equals(Buffer.alloc(32768, 0xff))).toBe(true);
    expect(disk.subarray(32768, 65536).equals(head.subarray(32768))).toBe(true);
  });

  it('advertises zero and fast zero, and fails a fast zero at once with ENOTSUP, writing nothing', async () => {
    await serving(['file', image], (uri) =>
      nbdsh(uri, `${NBDSH_EXPECT_ERROR}
assert h.can_zero() and h.can_fast_zero()
def fast_zero():
    h.zero(4096, 0, nbd.CMD_FLAG_FAST_ZERO)
expect_error("ENOTSUP", fast_zero)
assert h.pread(4096, 0) == bytes(b ^ 0xff for b in ${HEAD})[:4096]
h.zero(4096, 0, nbd.CMD_FLAG_FUA)
assert h.pread(4096, 0) == bytes(4096)
`),
    );
    expect(readFileSync(image).subarray(0, 4096).equals(Buffer.alloc(4096, 0xff))).toBe(true);
  });

  it('serves the disk beneath as it is under two invert filters', async () => {
    await serving([`--filter=${FILTER}`, 'file', image], (uri) =>
      nbdsh(uri, `
assert h.pread(65536, 0) == ${HEAD}
h.pwrite(b"written twice inverted", 65536)
h.flush()
`),
    );
    expect(readFileSync(image).subarray(65536, 65536 + 22).toString()).toBe('written twice inverted');
  });
});

describe('the invert filter over a sparse disk', () => {
  const dir = tempDir();
  const sparse = join(dir, 'sparse.img');
  /** What the export reads: 0xff bytes where the disk beneath reads as zeroes, and 4 KiB of 0xfe at 3 MiB. */
  const expected = Buffer.alloc(16 * MiB, 0xff).fill(0xfe, 3 * MiB, 3 * MiB + 4096);

  beforeEach(() => {
    const fd = openSync(sparse, 'w');
    ftruncateSync(fd, 16 * MiB);
    writeSync(fd, Buffer.alloc(4096, 1), 0, undefined, 3 * MiB);
    closeSync(fd);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports the holes beneath as holes, none of them as reading as zeroes', async () => {
    await serving(['file', sparse], async (uri) => {
      const { stdout } = await runOk('nbdinfo', ['--map', '--json', uri]);
      const map = (JSON.parse(stdout) as { offset: number; length: number; type: number }[]).map(({ offset, length, type }) => ({ offset, length, type }));
      expect(map).toEqual([
        { offset: 0, length: 3 * MiB, type: 1 },
        { offset: 3 * MiB, length: 4096, type: 0 },
        { offset: 3 * MiB + 4096, length: 13 * MiB - 4096, type: 1 },
      ]);
    });
  });

  it.each([
    ['nbdcopy', (uri: string, out: string) => runOk('nbdcopy', [uri, out])],
    ['qemu-img convert', (uri: string, out: string) => runOk('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri, out])],
  ])('copies out with %s as 0xff bytes where the disk beneath has holes', async (name, copy) => {
    const out = join(dir, `${name.replace(' ', '-')}.img`);
    await serving(['file', sparse], (uri) => copy(uri, out));
    expect(readFileSync(out).equals(expected)).toBe(true);
  });
});

describe('the invert filter over the memory plugin', () => {
  it('passes trim through: a page freed beneath reads as 0xff bytes', async () => {
    await serving([MEMORY_PLUGIN, '1M'], (uri) =>
      nbdsh(uri, `
assert h.can_trim()
h.pwrite(b"x" * 32768, 32768)
h.trim(32768, 32768)
assert h.pread(32768, 32768) == b"\\xff" * 32768
`),
    );
  });
});
