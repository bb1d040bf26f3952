import { copyFileSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nbdsh, NBDSH_EXPECT_ERROR, run, runOk, type ServerProcess, startServer, tempDir, withServer } from '@nbdkit-ts/testing';
import { content, MiB, PLUGIN, requireTools, sfdisk } from './disk.js';

requireTools({ nbdsh: 'libnbd-bin', nbdcopy: 'libnbd-bin', nbdinfo: 'libnbd-bin', sfdisk: 'fdisk', mke2fs: 'e2fsprogs', e2fsck: 'e2fsprogs', debugfs: 'e2fsprogs' });

let dir: string;
beforeAll(() => (dir = tempDir()));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The server with this test's stack in front of `args`. */
function withStack<T>(args: readonly string[], body: (server: ServerProcess) => Promise<T>): Promise<T> {
  return withServer(['-v', PLUGIN, ...args], body);
}

/** A Python bytes literal of `data`. */
const py = (data: Buffer) => `bytes.fromhex("${data.toString('hex')}")`;

// An MBR disk of two files: the MBR, padding to 1M, `small` (1000 bytes) at 1M, padding to 2M,
// `large` (1 MiB) at 2M, which ends the disk at 3M.
describe('writing to an MBR disk of two files', () => {
  const SMALL = content(1000, 1);
  const LARGE = content(MiB, 2);
  let small: string;
  let large: string;
  beforeEach(() => {
    small = join(dir, 'small');
    large = join(dir, 'large');
    writeFileSync(small, SMALL);
    writeFileSync(large, LARGE);
  });
  const serve = <T>(body: (server: ServerProcess) => Promise<T>) => withStack([small, large], body);

  it('writes to the partitions go to the files, and another connection sees them', async () => {
    await serve((s) =>
      nbdsh(
        s.uri,
        `h.pwrite(b"first" * 10, ${MiB} + 10)
h.pwrite(b"x" * 100000, ${2 * MiB + 5000})
h.flush()
h2 = nbd.NBD()
h2.connect_uri(${JSON.stringify(s.uri)})
assert h2.pread(50, ${MiB} + 10) == b"first" * 10
assert h2.pread(100000, ${2 * MiB + 5000}) == b"x" * 100000
`,
      ),
    );
    const smallAfter = Buffer.from(SMALL);
    smallAfter.write('first'.repeat(10), 10);
    const largeAfter = Buffer.from(LARGE);
    largeAfter.fill('x', 5000, 105000);
    expect(readFileSync(small).equals(smallAfter)).toBe(true);
    expect(readFileSync(large).equals(largeAfter)).toBe(true);
  });

  it('a write may cover the tables and padding with the bytes already there; the files get their part, and keep their size', async () => {
    await serve((s) =>
      nbdsh(
        s.uri,
        `whole = h.pread(${3 * MiB}, 0)
new = bytearray(whole)
new[${MiB}:${MiB + 1000}] = b"s" * 1000
new[${2 * MiB}:${3 * MiB}] = b"l" * ${MiB}
h.pwrite(bytes(new), 0)
h.zero(${MiB - 1000 - 512}, ${MiB + 1000 + 512})
assert h.pread(${3 * MiB}, 0) == bytes(new)
`,
      ),
    );
    expect(readFileSync(small).equals(Buffer.alloc(1000, 's'))).toBe(true);
    expect(readFileSync(large).equals(Buffer.alloc(MiB, 'l'))).toBe(true);
  });

  it('a write that would change the MBR fails with EIO, writes nothing, and is logged', async () => {
    const log = await serve(async (s) => {
      await nbdsh(
        s.uri,
        `${NBDSH_EXPECT_ERROR}
mbr = h.pread(512, 0)
changed = bytearray(mbr)
changed[0x1be + 4] = 0x82
expect_error("EIO", h.pwrite, bytes(changed), 0)
expect_error("EIO", h.pwrite, b"\\0", 0x1fe)
expect_error("EIO", h.zero, 512, 0)
# It ends in the first partition: that part is not written either.
expect_error("EIO", h.pwrite, bytes(changed) + bytes(${MiB - 512}) + b"s" * 1000, 0)
assert h.pread(512, 0) == mbr
`,
      );
      return s.stderr();
    });
    expect(log).toMatch(/write at bytes 0-511 would change the MBR: the partition tables of the disk cannot be changed/);
    expect(readFileSync(small).equals(SMALL)).toBe(true);
  });

  it('a write of anything but zeroes to the padding fails with EIO and writes nothing, not even to the file it starts in', async () => {
    const log = await serve(async (s) => {
      await nbdsh(
        s.uri,
        `${NBDSH_EXPECT_ERROR}
expect_error("EIO", h.pwrite, b"p", 512)
expect_error("EIO", h.pwrite, b"p", ${MiB + 1000})
expect_error("EIO", h.pwrite, b"s" * 1000 + b"p", ${MiB})
h.pwrite(bytes(4096), ${MiB + 4096})
assert h.pread(${MiB}, ${MiB}) == ${py(SMALL)} + bytes(${MiB - 1000})
`,
      );
      return s.stderr();
    });
    expect(log).toMatch(/write of data other than zeroes at bytes 512-512, padding between partitions/);
    expect(readFileSync(small).equals(SMALL)).toBe(true);
  });

  it('a read past the end of a file that shrank since startup fails with EIO, naming the file', async () => {
    const log = await serve(async (s) => {
      truncateSync(large, 1000);
      await nbdsh(
        s.uri,
        `${NBDSH_EXPECT_ERROR}
assert h.pread(1000, ${2 * MiB}) == ${py(LARGE.subarray(0, 1000))}
expect_error("EIO", h.pread, 2000, ${2 * MiB})
`,
      );
      return s.stderr();
    });
    expect(log).toContain(`${large}: nothing to read at byte 1000: the file is shorter than the ${MiB} bytes it had at startup`);
  });
});

describe('writing to a GPT disk', () => {
  it('a write that would change the backup table at the end fails with EIO', async () => {
    const file = join(dir, 'gpt-file');
    writeFileSync(file, content(4096, 3));
    await withStack(['partition-type=gpt', file], (s) =>
      nbdsh(
        s.uri,
        `${NBDSH_EXPECT_ERROR}
size = h.get_size()
backup = h.pread(512, size - 512)
assert backup[:8] == b"EFI PART"
h.pwrite(backup, size - 512)
expect_error("EIO", h.pwrite, b"X" + backup[1:], size - 512)
expect_error("EIO", h.pwrite, b"X", 1024)
assert h.pread(512, size - 512) == backup
`,
      ),
    );
  });
});

/** Makes an ext2 file system of `size` with a file hello.txt, in `path`. */
async function makeFileSystem(path: string, size: string): Promise<void> {
  const root = `${path}.d`;
  mkdirSync(root);
  writeFileSync(join(root, 'hello.txt'), 'hello, world\n');
  await runOk('mke2fs', ['-q', '-F', '-t', 'ext2', '-d', root, path, size]);
}

// nbdkit's test-partitioning2.sh and test-partitioning5.sh do this with guestfish; here the file
// system is changed outside (debugfs, on a copy) and the changed copy is written into its
// partition through the export, at the place sfdisk finds in the disk.
describe.each([
  ['GPT, partition 2 of 3', ['partition-type=gpt', 'SMALL', 'FS', 'SMALL'], 2],
  ['MBR, logical partition 12 of 13', ['partition-type=mbr', ...Array<string>(10).fill('SMALL'), 'FS', 'SMALL'], 12],
])('an ext2 file system as %s', (_, template, number) => {
  it('is found by sfdisk, reads back whole, and changes written to it through the export land in its file', async () => {
    const fs = join(dir, `fs-${number}`);
    const changed = `${fs}.changed`;
    const smallFile = join(dir, `one-byte-${number}`);
    writeFileSync(smallFile, 'x');
    await makeFileSystem(fs, '8M');
    copyFileSync(fs, changed);
    writeFileSync(`${changed}.new`, content(100_000, 4));
    await runOk('debugfs', ['-w', '-R', `write ${changed}.new new.bin`, changed]);
    const args = template.map((a) => (a === 'SMALL' ? smallFile : a === 'FS' ? fs : a));
    await withStack(args, async (s) => {
      const image = join(dir, `disk-${number}.img`);
      await runOk('nbdcopy', [s.uri, image]);
      const partition = (await sfdisk(image)).partitions.find((p) => p.node === `${image}${number}`);
      expect(partition?.size).toBe((8 * MiB) / 512);
      const start = (partition?.start ?? 0) * 512;
      expect(readFileSync(image).subarray(start, start + 8 * MiB).equals(readFileSync(fs))).toBe(true);
      await nbdsh(
        s.uri,
        `with open(${JSON.stringify(changed)}, "rb") as f:
    data = f.read()
for at in range(0, len(data), 1 << 20):
    h.pwrite(data[at:at + (1 << 20)], ${start} + at)
h.flush()
`,
      );
    });
    expect(readFileSync(fs).equals(readFileSync(changed))).toBe(true);
    await runOk('e2fsck', ['-f', '-n', fs]);
    expect((await runOk('debugfs', ['-R', 'cat /hello.txt', fs])).stdout).toBe('hello, world\n');
    expect((await runOk('debugfs', ['-R', 'stat /new.bin', fs])).stdout).toMatch(/Size: 100000/);
  });
});

// Root may write to any file whatever its mode: an immutable file (chattr +i) refuses writing to root too.
describe.skipIf(process.getuid?.() !== 0)('a file that cannot be written', () => {
  let immutable: string;
  beforeAll(async () => {
    immutable = join(dir, 'immutable');
    writeFileSync(immutable, content(4096, 5));
    await runOk('chattr', ['+i', immutable]);
  });
  afterAll(() => runOk('chattr', ['-i', immutable]));

  it('is served with -r, opened read-only', async () => {
    const server = await startServer(['-r', PLUGIN, immutable]);
    try {
      await nbdsh(server.uri, `assert h.is_read_only()\nassert h.pread(4096, ${MiB}) == ${py(content(4096, 5))}`);
    } finally {
      await server.stop();
    }
  });

  it('without -r, refuses the client with a message naming the file and suggesting -r', async () => {
    await withStack([immutable], async (s) => {
      expect((await run('nbdinfo', [s.uri])).status).not.toBe(0);
      expect(s.stderr()).toContain(`${immutable}: cannot open for writing (serve the disk read-only with -r?)`);
    });
  });
});
