import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cliPath, nbdsh, NBDSH_EXPECT_ERROR, run, runOk, type ServerProcess, tempDir, withServer } from '@nbdkit-ts/testing';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** 64 KiB, none of the bytes zero, each telling where it is. */
const CONTENT = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i % 255) + 1));

let dir: string;
let disk: string;

beforeAll(() => {
  dir = tempDir();
  disk = join(dir, 'disk.img');
});

beforeEach(() => writeFileSync(disk, CONTENT));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Serves `disk` through the filter with `params`. */
const withFile = <T>(params: readonly string[], body: (server: ServerProcess) => Promise<T>) => withServer([`--filter=${FILTER}`, 'file', disk, ...params], body);

/** A Python bytes literal of `data`. */
const py = (data: Buffer) => `bytes.fromhex("${data.toString('hex')}")`;

/** The size the export of `uri` has. */
const sizeOf = async (uri: string) => (await runOk('nbdinfo', ['--size', uri])).stdout.trim();

/** Runs `server ARGS --run 'nbdinfo --map --json $uri'` and gives the map, for nbdkit-ts or nbdkit. */
async function mapWith(server: 'nbdkit-ts' | 'nbdkit', args: readonly string[]): Promise<unknown> {
  const command = server === 'nbdkit' ? ['nbdkit'] : [process.execPath, cliPath()];
  const [cmd, ...rest] = command;
  const { stdout } = await runOk(cmd ?? '', [...rest, '-U', '-', ...args, '--run', 'nbdinfo --map --json "$uri"']);
  return (JSON.parse(stdout) as { offset: number; length: number; type: number }[]).map(({ offset, length, type }) => ({ offset, length, type }));
}

describe('the window (over a file of 64 KiB)', () => {
  it.each([
    [[], 65536],
    [['offset=1000'], 64536],
    [['offset=64K'], 0],
    [['range=4K'], 4096],
    [['offset=1', 'range=512'], 512],
    [['offset=4s', 'range=8s'], 4096],
    [['offset=60K', 'range=4K'], 4096],
    [['offset=1000', 'range=0'], 0],
    [['offset=1', 'offset=2'], 65534],
  ])('%s serves %i bytes', async (params, size) => {
    await withFile(params, async (s) => expect(await sizeOf(s.uri)).toBe(String(size)));
  });

  it('reads from the offset and writes there, and leaves the rest of the disk beneath alone', async () => {
    await withFile(['offset=1000', 'range=2000'], async (s) => {
      await nbdsh(
        s.uri,
        `assert h.pread(2000, 0) == ${py(CONTENT.subarray(1000, 3000))}
assert h.pread(10, 1990) == ${py(CONTENT.subarray(2990, 3000))}
h.pwrite(b"first", 0)
h.pwrite(b"last!", 1995)
h.flush()
assert h.pread(5, 1995) == b"last!"
`,
      );
    });
    const after = readFileSync(disk);
    expect(after.subarray(1000, 1005).toString()).toBe('first');
    expect(after.subarray(2995, 3000).toString()).toBe('last!');
    expect(after.subarray(0, 1000).equals(CONTENT.subarray(0, 1000))).toBe(true);
    expect(after.subarray(1005, 2995).equals(CONTENT.subarray(1005, 2995))).toBe(true);
    expect(after.subarray(3000).equals(CONTENT.subarray(3000))).toBe(true);
  });

  it('moves zero, trim and cache by the offset too', async () => {
    await withFile(['offset=4096', 'range=8192'], async (s) => {
      await nbdsh(
        s.uri,
        `h.zero(1000, 100)
h.trim(4096, 4096)
h.cache(8192, 0)
h.flush()
assert h.pread(1000, 100) == bytes(1000)
`,
      );
    });
    const after = readFileSync(disk);
    expect(after.subarray(4196, 5196).equals(Buffer.alloc(1000))).toBe(true);
    expect(after.subarray(4096, 4196).equals(CONTENT.subarray(4096, 4196))).toBe(true);
    expect(after.subarray(5196, 8192).equals(CONTENT.subarray(5196, 8192))).toBe(true);
    expect(after.subarray(12288).equals(CONTENT.subarray(12288))).toBe(true);
  });

  it('refuses requests past the end of the range, though the disk beneath goes on', async () => {
    await withFile(['offset=1000', 'range=2000'], async (s) => {
      await nbdsh(
        s.uri,
        `${NBDSH_EXPECT_ERROR}
expect_error("EINVAL", h.pread, 1, 2000)
expect_error("EINVAL", h.pread, 2, 1999)
expect_error("ENOSPC", h.pwrite, b"xx", 1999)
expect_error("ENOSPC", h.zero, 2, 1999)
`,
      );
    });
    expect(readFileSync(disk).equals(CONTENT)).toBe(true);
  });

  it('reaches offsets beyond 2^53 exactly', async () => {
    // The pattern plugin's bytes at 8N are N as a big-endian 64-bit number.
    const offset = 2n ** 62n + 8n;
    await withServer([`--filter=${FILTER}`, 'pattern', '7E', `offset=${offset}`, 'range=16'], async (s) => {
      await nbdsh(s.uri, `assert h.pread(16, 0) == (${offset}).to_bytes(8, "big") + (${offset + 8n}).to_bytes(8, "big")`);
    });
  });
});

describe('checked against the disk beneath when a client connects', () => {
  const serve = (params: readonly string[]) =>
    run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'file', disk, ...params, '--run', 'nbdinfo --size "$uri"']);

  it.each([
    [['offset=65537'], 'offset: offset=65537 is beyond the end of the disk beneath (65536 bytes)'],
    [['offset=1', 'range=64K'], 'offset: offset=1 range=65536 ends at byte 65537, beyond the end of the disk beneath (65536 bytes)'],
    [['range=65537'], 'offset: offset=0 range=65537 ends at byte 65537, beyond the end of the disk beneath (65536 bytes)'],
    [['offset=64K', 'range=1'], 'offset: offset=65536 range=1 ends at byte 65537'],
  ])('%s refuses the export', async (params, message) => {
    const r = await serve(params);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  it('for each connection, with the size beneath at the time', async () => {
    writeFileSync(disk, CONTENT.subarray(0, 1024));
    await withFile(['offset=1K', 'range=1K'], async (s) => {
      expect((await run('nbdinfo', ['--size', s.uri])).status).not.toBe(0);
      writeFileSync(disk, CONTENT.subarray(0, 2048));
      expect(await sizeOf(s.uri)).toBe('1024');
      expect(s.stderr()).toContain('offset: offset=1024 range=1024 ends at byte 2048, beyond the end of the disk beneath (1024 bytes)');
    });
  });
});

describe('block status', () => {
  // Bytes written at 0, 4K-1, 64K, 68K-1 and 128K, a zero at 96K, the rest a hole up to 256K.
  const data = ['data', 'size=256K', '@0 1 @4095 1 @65536 1 @69631 1 @98304 0 @131072 1'];

  it.each([
    [['offset=1K', 'range=128K']],
    [['offset=3K']],
    [['offset=100K', 'range=1K']],
    [['offset=1', 'range=131071']],
  ])('is moved back by the offset and stops at the end of the range, as nbdkit does (%s)', async (params) => {
    const args = [`--filter=${FILTER}`, ...data, ...params];
    const ours = await mapWith('nbdkit-ts', args);
    expect(ours).toEqual(await mapWith('nbdkit', ['--filter=offset', ...data, ...params]));
    expect(ours).not.toEqual([]);
  });

  it('reports the window of a data disk, whose pages of 32 KiB are data or holes', async () => {
    expect(await mapWith('nbdkit-ts', [`--filter=${FILTER}`, ...data, 'offset=2K', 'range=64K'])).toEqual([
      { offset: 0, length: 30720, type: 0 },
      { offset: 30720, length: 32768, type: 3 },
      { offset: 63488, length: 2048, type: 0 },
    ]);
  });
});

describe('parameters', () => {
  const serve = (params: readonly string[]) => run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'null', '1M', ...params, '--run', 'true']);

  it.each([
    ['offset=x', 'offset=x: expected a size such as'],
    ['offset=-1', 'offset=-1: expected a size such as'],
    ['range=1.5M', 'range=1.5M: expected a size such as'],
    ['range=', 'range=: expected a size such as'],
    ['offset=8E', 'offset=8E: size is too large'],
  ])('%s is refused and nothing is served', async (param, message) => {
    const r = await serve([param]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it('--help lists offset= and range=', async () => {
    const { stdout } = await runOk(process.execPath, [cliPath(), `--filter=${FILTER}`, 'null', '--help']);
    expect(stdout).toMatch(/offset=/);
    expect(stdout).toMatch(/range=/);
  });
});
