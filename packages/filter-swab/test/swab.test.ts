import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context, FilterHandle, Next } from '@nbdkit-ts/core';
import { cliPath, nbdsh, NBDSH_EXPECT_ERROR, run, runOk, tempDir, withServer } from '@nbdkit-ts/testing';
import swab from '../src/index.js';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));

let dir: string;

beforeAll(() => {
  dir = tempDir();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `data` with the bytes of each `word`-byte word in reverse order, computed byte by byte. */
function reversedWords(data: Uint8Array, word: number): Buffer {
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i - (i % word) + word - 1 - (i % word)] as number;
  return out;
}

/** What the pattern plugin holds from `offset` (a multiple of 8) for `count` bytes: each 8-byte word is its own offset, big-endian. */
function pattern(offset: number, count: number): Buffer {
  const out = Buffer.alloc(count);
  for (let at = 0; at < count; at += 8) out.writeBigUInt64BE(BigInt(offset + at), at);
  return out;
}

/** A python bytes literal of `data`. */
const py = (data: Uint8Array): string => `bytes.fromhex("${Buffer.from(data).toString('hex')}")`;

describe('reads', () => {
  it.each([
    [16, '00000000 0000f8ff 00000000 01000000 00000000 01000800 00000000 01001000'],
    [32, '00000000 f8ff0000 00000000 00000100 00000000 08000100 00000000 10000100'],
    [64, 'f8ff0000 00000000 00000100 00000000 08000100 00000000 10000100 00000000'],
  ])('swab-bits=%i swaps the words of the pattern plugin (nbdkit’s expected bytes)', async (bits, hex) => {
    await withServer([`--filter=${FILTER}`, 'pattern', '1M', `swab-bits=${bits}`], async (s) => {
      await nbdsh(s.uri, `assert h.pread(32, 65528) == bytes.fromhex("${hex.replaceAll(' ', '')}")`);
    });
  });

  it.each([16, 32, 64])('swab-bits=%i: nbdcopy reads the whole pattern with its words reversed', async (bits) => {
    const out = join(dir, `pattern-${bits}.img`);
    await withServer([`--filter=${FILTER}`, 'pattern', '1M', `swab-bits=${bits}`], async (s) => {
      await runOk('nbdcopy', [s.uri, out]);
    });
    expect(readFileSync(out).equals(reversedWords(pattern(0, 1 << 20), bits / 8))).toBe(true);
  });

  it('swab-bits=8 swaps nothing', async () => {
    await withServer([`--filter=${FILTER}`, 'pattern', '1M', 'swab-bits=8'], async (s) => {
      await nbdsh(s.uri, `assert h.pread(4096, 65536) == ${py(pattern(65536, 4096))}`);
    });
  });

  it('the default is 16-bit words', async () => {
    await withServer([`--filter=${FILTER}`, 'pattern', '1M'], async (s) => {
      await nbdsh(s.uri, `assert h.pread(4096, 8192) == ${py(reversedWords(pattern(8192, 4096), 2))}`);
    });
  });
});

describe('writes', () => {
  it.each([
    [16, 'badcfehgjilknmpo'],
    [32, 'dcbahgfelkjiponm'],
    [64, 'hgfedcbaponmlkji'],
  ])('swab-bits=%i: the file beneath gets the swapped bytes, reads give back what was written', async (bits, onDisk) => {
    const disk = join(dir, `write-${bits}.img`);
    writeFileSync(disk, '');
    truncateSync(disk, 512);
    await withServer([`--filter=${FILTER}`, 'file', disk, `swab-bits=${bits}`], async (s) => {
      await nbdsh(s.uri, 'h.pwrite(b"abcdefghijklmnop", 256)\nassert h.pread(16, 256) == b"abcdefghijklmnop"');
    });
    const bytes = readFileSync(disk);
    expect(bytes.subarray(256, 272).toString('latin1')).toBe(onDisk);
    expect(bytes.subarray(0, 256).every((b) => b === 0)).toBe(true);
    expect(bytes.subarray(272).every((b) => b === 0)).toBe(true);
  });

  it('nbdcopy in, then the file read without the filter, and back out through it', async () => {
    const disk = join(dir, 'roundtrip.img');
    writeFileSync(disk, '');
    truncateSync(disk, 1 << 20);
    const data = randomBytes(1 << 20);
    const source = join(dir, 'roundtrip-source.img');
    writeFileSync(source, data);
    const out = join(dir, 'roundtrip-out.img');
    await withServer([`--filter=${FILTER}`, 'file', disk, 'swab-bits=64'], async (s) => {
      await runOk('nbdcopy', [source, s.uri]);
      await runOk('nbdcopy', [s.uri, out]);
    });
    expect(readFileSync(disk).equals(reversedWords(data, 8))).toBe(true);
    expect(readFileSync(out).equals(data)).toBe(true);
  });

  it('zero and trim reach the disk beneath', async () => {
    const disk = join(dir, 'zero.img');
    writeFileSync(disk, randomBytes(64 * 1024));
    await withServer([`--filter=${FILTER}`, 'file', disk, 'swab-bits=32'], async (s) => {
      await nbdsh(s.uri, 'h.zero(4096, 8192)\nassert h.pread(4096, 8192) == bytes(4096)\nif h.can_trim():\n    h.trim(4096, 16384)\nh.flush()');
    });
    expect(readFileSync(disk).subarray(8192, 12288).every((b) => b === 0)).toBe(true);
  });

  it('pwrite leaves the caller’s buffer as it is', async () => {
    const written: Uint8Array[] = [];
    const next = {
      capabilities: { size: 1024n },
      pwrite: (buf: Uint8Array) => void written.push(Uint8Array.from(buf)),
    } as unknown as Next;
    const filter = swab.create();
    const context = { openNext: () => Promise.resolve(next), next } as unknown as Context;
    const handle = (await filter.open?.(context)) as FilterHandle;
    const buf = Buffer.from('abcdefgh');
    await handle.pwrite?.(buf, 0n, 0);
    expect(buf.toString()).toBe('abcdefgh');
    expect(Buffer.from(written[0] as Uint8Array).toString()).toBe('badcfehg');
  });
});

describe('alignment', () => {
  it.each([16, 32, 64])('swab-bits=%i: requests not made of whole words fail with EINVAL', async (bits) => {
    const w = bits / 8;
    const disk = join(dir, `unaligned-${bits}.img`);
    writeFileSync(disk, randomBytes(64 * 1024));
    const before = readFileSync(disk);
    await withServer([`--filter=${FILTER}`, 'file', disk, `swab-bits=${bits}`], async (s) => {
      await nbdsh(
        s.uri,
        `${NBDSH_EXPECT_ERROR}
h.set_strict_mode(0)
w = ${w}
for count, offset in [(w + 1, 0), (w, 1), (w - 1, w), (4096, w // 2)]:
    expect_error("EINVAL", h.pread, count, offset)
    expect_error("EINVAL", h.pwrite, bytes(count), offset)
    expect_error("EINVAL", h.zero, count, offset)
    expect_error("EINVAL", h.trim, count, offset)
    expect_error("EINVAL", h.cache, count, offset)
    expect_error("EINVAL", h.block_status, count, offset, lambda *a: 0)
h.pread(w, w)
`,
        { baseAllocation: true },
      );
    });
    expect(readFileSync(disk).equals(before)).toBe(true);
  });

  it.each([
    [16, 2],
    [32, 4],
    [64, 8],
  ])('swab-bits=%i advertises a minimum block size of %i bytes', async (bits, minimum) => {
    await withServer([`--filter=${FILTER}`, 'pattern', '1M', `swab-bits=${bits}`], async (s) => {
      const { stdout } = await nbdsh(s.uri, 'print([h.get_block_size(k) for k in [nbd.SIZE_MINIMUM, nbd.SIZE_PREFERRED, nbd.SIZE_MAXIMUM]])');
      const [lo, preferred, hi] = JSON.parse(stdout.trim()) as number[];
      expect(lo).toBe(minimum);
      expect(preferred).toBeGreaterThanOrEqual(512);
      expect(hi).toBeGreaterThanOrEqual(preferred as number);
    });
  });

  it('the block size of the layer beneath is kept, with its maximum rounded down to whole words', async () => {
    const args = [`--filter=${FILTER}`, 'eval', 'get_size=echo 1M', 'pread=exit 1', 'swab-bits=64'];
    await withServer([...args, 'block_size=echo 1 8192 1000001'], async (s) => {
      const { stdout } = await nbdsh(s.uri, 'print([h.get_block_size(k) for k in [nbd.SIZE_MINIMUM, nbd.SIZE_PREFERRED, nbd.SIZE_MAXIMUM]])');
      expect(JSON.parse(stdout.trim())).toEqual([8, 8192, 1000000]);
    });
    await withServer([...args, 'block_size=echo 16 8192 1048576'], async (s) => {
      const { stdout } = await nbdsh(s.uri, 'print([h.get_block_size(k) for k in [nbd.SIZE_MINIMUM, nbd.SIZE_PREFERRED, nbd.SIZE_MAXIMUM]])');
      expect(JSON.parse(stdout.trim())).toEqual([16, 8192, 1048576]);
    });
  });

  it('the size is rounded down to whole words', async () => {
    for (const [bits, size] of [
      [16, 1000],
      [32, 1000],
      [64, 1000],
      [8, 1001],
    ] as const) {
      await withServer([`--filter=${FILTER}`, 'pattern', '1001', `swab-bits=${bits}`], async (s) => {
        expect((await runOk('nbdinfo', ['--size', s.uri])).stdout.trim()).toBe(String(size));
      });
    }
  });
});

describe('extents', () => {
  // Extents beneath, [D]ata, [H]ole, [Z]ero, [B]oth: DDDDDDDD DDDDDDDZ ZZZZZZZB BBBBBBBH HZZBBBBH HHHHHHHD
  const list = `printf '%s\\n' "0 7" "7 8" "15 8 zero" "23 8 zero,hole" "31 2 hole" "33 2 zero" "35 4 zero,hole" "39 8 hole" "47 1"`;
  /** The plugin reports all of its extents, or only the one at the offset asked about. */
  const modes = { all: list, one: `${list} | awk -v at="$4" '$1 + $2 > at { print; exit }'` };
  const script = `
entries = []
offs = 0
def f(ctx, offset, e, err):
    global offs
    assert offs == offset
    for length, flags in zip(*[iter(e)] * 2):
        if entries and flags == entries[-1][1]:
            entries[-1] = (entries[-1][0] + length, flags)
        else:
            entries.append((length, flags))
        offs += length
while offs < h.get_size():
    h.block_status(h.get_size() - offs, offs, f)
print(entries)
`;

  it.each([
    [8, '[(15, 0), (8, 2), (8, 3), (2, 1), (2, 2), (4, 3), (8, 1), (1, 0)]'],
    [16, '[(16, 0), (8, 2), (6, 3), (2, 1), (2, 0), (2, 2), (2, 3), (8, 1), (2, 0)]'],
    [32, '[(16, 0), (8, 2), (4, 3), (4, 1), (4, 0), (8, 1), (4, 0)]'],
    [64, '[(16, 0), (8, 2), (8, 1), (16, 0)]'],
  ])('swab-bits=%i: a word split between extents has only the type bits all its bytes have', async (bits, want) => {
    for (const extents of Object.values(modes)) {
      await withServer([`--filter=${FILTER}`, 'eval', 'get_size=echo 48', 'pread=exit 1', `extents=${extents}`, `swab-bits=${bits}`], async (s) => {
        const { stdout } = await nbdsh(s.uri, script, { baseAllocation: true });
        expect(stdout.trim()).toBe(want);
      });
    }
  });
});

describe('parameters', () => {
  const serve = (...params: string[]) => run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'null', ...params, '--run', 'true']);

  it.each([
    ['swab-bits=12', 'swab-bits=12: expected 8, 16, 32 or 64'],
    ['swab-bits=128', 'swab-bits=128: expected a whole number from 8 to 64'],
    ['swab-bits=sixteen', 'swab-bits=sixteen: expected a whole number from 8 to 64'],
    ['swab-bits=', 'swab-bits=: expected a whole number from 8 to 64'],
  ])('%s is refused', async (param, message) => {
    const r = await serve(param);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it.each(['swab-bits=8', 'swab-bits=16', 'swab-bits=32', 'swab-bits=64', 'swab-bits=0x20'])('%s is accepted', async (param) => {
    const r = await serve(param);
    expect(r.status).toBe(0);
  });
});
