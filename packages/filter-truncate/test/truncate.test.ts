import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cliPath, nbdsh, NBDSH_EXPECT_ERROR, run, runOk, type ServerProcess, tempDir, withServer } from '@nbdkit-ts/testing';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** 1000 bytes, none of them zero. */
const CONTENT = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i % 251) + 1));

let dir: string;
let disk: string;

beforeAll(() => {
  dir = tempDir();
  disk = join(dir, 'disk.img');
});

beforeEach(() => writeFileSync(disk, CONTENT));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The server with this test's stack in front of `args`. */
function withStack<T>(args: readonly string[], body: (server: ServerProcess) => Promise<T>): Promise<T> {
  return withServer([`--filter=${FILTER}`, ...args], body);
}

/** Serves `disk` through the filter with `params`. */
const withFile = <T>(params: readonly string[], body: (server: ServerProcess) => Promise<T>) => withStack(['file', disk, ...params], body);

/** A Python bytes literal of `data`. */
const py = (data: Buffer) => `bytes.fromhex("${data.toString('hex')}")`;

/** What `nbdinfo --map --json` reports, without the descriptions. */
async function map(uri: string): Promise<{ offset: number; length: number; type: number }[]> {
  const { stdout } = await runOk('nbdinfo', ['--map', '--json', uri]);
  return (JSON.parse(stdout) as { offset: number; length: number; type: number }[]).map(({ offset, length, type }) => ({ offset, length, type }));
}

describe('the size of the export (over 1000 bytes)', () => {
  it.each([
    [['truncate=1500'], 1500],
    [['truncate=600'], 600],
    [['truncate=0'], 0],
    [['truncate=3s'], 1536],
    [['round-up=512'], 1024],
    [['round-up=8'], 1000],
    [['round-up=1'], 1000],
    [['round-down=512'], 512],
    [['round-down=2K'], 0],
    [['truncate=1500', 'round-up=1K'], 2048],
    [['truncate=1500', 'round-down=1K'], 1024],
    [['round-up=4K', 'round-down=1K'], 4096],
  ])('%s gives %i bytes', async (params, size) => {
    await withFile(params, async (s) => {
      expect((await runOk('nbdinfo', ['--size', s.uri])).stdout.trim()).toBe(String(size));
    });
  });

  it('is computed for each connection, from the size beneath when it connects', async () => {
    await withFile(['round-up=1K'], async (s) => {
      await nbdsh(
        s.uri,
        `import os
assert h.get_size() == 1024
os.truncate(${JSON.stringify(disk)}, 3000)
h2 = nbd.NBD()
h2.connect_uri(${JSON.stringify(s.uri)})
assert h2.get_size() == 3072, h2.get_size()
assert h.get_size() == 1024
assert h.pread(1024, 0) == ${py(CONTENT)} + bytes(24)
assert h2.pread(3072, 0) == ${py(CONTENT)} + bytes(2072)
`,
      );
    });
  });
});

describe('truncating (truncate=600)', () => {
  it('serves the first bytes beneath, and writes at the end land there', async () => {
    await withFile(['truncate=600'], async (s) => {
      await nbdsh(
        s.uri,
        `${NBDSH_EXPECT_ERROR}
assert h.pread(600, 0) == ${py(CONTENT.subarray(0, 600))}
h.pwrite(b"end!", 596)
h.flush()
expect_error("EINVAL", h.pread, 1, 600)
`,
      );
    });
    const after = readFileSync(disk);
    expect(after.subarray(596, 600).toString()).toBe('end!');
    expect(after.subarray(600).equals(CONTENT.subarray(600))).toBe(true);
  });
});

describe('extending (truncate=1500 over 1000 bytes)', () => {
  it('reads zeroes past the end beneath', async () => {
    await withFile(['truncate=1500'], async (s) => {
      await nbdsh(
        s.uri,
        `assert h.pread(1500, 0) == ${py(CONTENT)} + bytes(500)
assert h.pread(100, 1200) == bytes(100)
assert h.pread(100, 950) == ${py(CONTENT.subarray(950))} + bytes(50)
`,
      );
    });
  });

  it('accepts writes of zeroes past the end and writes the part beneath; the file keeps its size', async () => {
    await withFile(['truncate=1500'], async (s) => {
      await nbdsh(
        s.uri,
        `h.pwrite(bytes(500), 1000)
h.pwrite(b"tail" + bytes(96), 996)
h.flush()
assert h.pread(504, 996) == b"tail" + bytes(500)
`,
      );
    });
    const after = readFileSync(disk);
    expect(after.length).toBe(1000);
    expect(after.subarray(996).toString()).toBe('tail');
    expect(after.subarray(0, 996).equals(CONTENT.subarray(0, 996))).toBe(true);
  });

  it('refuses data past the end with ENOSPC, and writes nothing of it, not even the part beneath', async () => {
    await withFile(['truncate=1500'], async (s) => {
      await nbdsh(
        s.uri,
        `${NBDSH_EXPECT_ERROR}
expect_error("ENOSPC", h.pwrite, b"x", 1499)
expect_error("ENOSPC", h.pwrite, b"x" * 100, 1100)
expect_error("ENOSPC", h.pwrite, b"y" * 8 + b"x", 992)
h.flush()
assert h.pread(1500, 0) == ${py(CONTENT)} + bytes(500)
`,
      );
    });
    expect(readFileSync(disk).equals(CONTENT)).toBe(true);
  });

  it('ignores zero and trim past the end, and zeroes or trims the part beneath', async () => {
    await withFile(['truncate=1500'], async (s) => {
      await nbdsh(
        s.uri,
        `h.zero(500, 1000)
h.zero(100, 1400, nbd.CMD_FLAG_FAST_ZERO)
h.trim(200, 1200)
h.zero(200, 900)
h.trim(600, 900)
h.flush()
assert h.pread(600, 900) == bytes(600)
`,
      );
    });
    const after = readFileSync(disk);
    expect(after.length).toBe(1000);
    expect(after.subarray(0, 900).equals(CONTENT.subarray(0, 900))).toBe(true);
  });

  it('honours fast zero past the end even when the disk beneath cannot, and refuses it over the part beneath', async () => {
    const plugin = ['eval', 'get_size=echo 512', 'pread=head -c $3 /dev/zero', 'pwrite=cat >/dev/null', 'zero=exit 0'];
    await withStack([...plugin, 'truncate=1024'], async (s) => {
      await nbdsh(
        s.uri,
        `${NBDSH_EXPECT_ERROR}
assert h.can_fast_zero()
h.zero(512, 512, nbd.CMD_FLAG_FAST_ZERO)
expect_error("ENOTSUP", h.zero, 1024, 0, nbd.CMD_FLAG_FAST_ZERO)
h.zero(1024, 0)
`,
      );
    });
  });
});

describe('block status', () => {
  it('reports a hole that reads as zeroes past the end beneath', async () => {
    writeFileSync(disk, Buffer.alloc(64 * 1024, 1));
    await withFile(['truncate=1M'], async (s) => {
      expect(await map(s.uri)).toEqual([
        { offset: 0, length: 65536, type: 0 },
        { offset: 65536, length: 1048576 - 65536, type: 3 },
      ]);
      // A request wholly past the end beneath: the hole to the end, past the request (as nbdkit).
      await nbdsh(
        s.uri,
        `out = []
h.block_status(4096, 200000, lambda ctx, o, e, err: out.extend(e))
assert out == [1048576 - 200000, 3], out
`,
        { baseAllocation: true },
      );
    });
  });

  it('covers the rounded-up tail', async () => {
    await withFile(['round-up=4K'], async (s) => {
      expect(await map(s.uri)).toEqual([
        { offset: 0, length: 1000, type: 0 },
        { offset: 1000, length: 3096, type: 3 },
      ]);
    });
  });

  it('stops at the new end when truncating', async () => {
    writeFileSync(disk, Buffer.alloc(64 * 1024, 1));
    await withFile(['truncate=32K'], async (s) => {
      expect(await map(s.uri)).toEqual([{ offset: 0, length: 32768, type: 0 }]);
    });
  });
});

describe('parameters', () => {
  const serve = (params: readonly string[], command = 'true') =>
    run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'null', ...params, '--run', command]);

  it.each([
    ['round-up=3', 'round-up=3: expected a power of two'],
    ['round-up=1000', 'round-up=1000: expected a power of two'],
    ['round-down=0', 'round-down=0: expected a power of two'],
    ['round-down=x', 'round-down=x: expected a size such as'],
    ['truncate=lots', 'truncate=lots: expected a size such as'],
    ['truncate=-1', 'truncate=-1: expected a size such as'],
    ['truncate=8E', 'truncate=8E: size is too large'],
  ])('%s is refused', async (param, message) => {
    const r = await serve([param]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it('refuses the connection when rounding up passes 2^63 - 1', async () => {
    const r = await serve(['truncate=9223372036854775807', 'round-up=2'], 'nbdinfo --size "$uri"');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('truncate: cannot round the size 9223372036854775807 up to a multiple of 2');
  });
});
