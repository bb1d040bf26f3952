import { describe, expect, it } from 'vitest';
import { cliPath, nbdsh, run, runOk, startServer } from '@nbdkit-ts/testing';
import { fillPattern } from '../src/pattern.js';

/** The pattern the slow way: each 8-byte word's offset as a big-endian bigint. */
function expected(count: number, offset: bigint): Buffer {
  const first = offset - (offset % 8n);
  const words = Buffer.alloc(8 * Math.ceil(count / 8) + 8);
  for (let i = 0; i * 8 < words.length; i++) words.writeBigUInt64BE(first + BigInt(i * 8), i * 8);
  return words.subarray(Number(offset - first), Number(offset - first) + count);
}

describe('the pattern', () => {
  it.each([
    [0, 0n],
    [1, 7n],
    [8, 8n],
    [13, 3n],
    [100, 2n ** 32n - 13n],
    [5, 2n ** 53n + 1n],
    [77, 2n ** 63n - 77n],
  ])('%i bytes at %s', (count, offset) => {
    const buf = Buffer.alloc(count, 0xee);
    fillPattern(buf, offset);
    expect(buf.equals(expected(count, offset))).toBe(true);
  });

  it('is written into a view of a larger buffer without touching the rest', () => {
    const whole = Buffer.alloc(40, 0xee);
    fillPattern(whole.subarray(5, 30), 1003n);
    expect(whole.subarray(0, 5).every((b) => b === 0xee) && whole.subarray(30).every((b) => b === 0xee)).toBe(true);
    expect(whole.subarray(5, 30).equals(expected(25, 1003n))).toBe(true);
  });
});

describe('the pattern plugin', () => {
  it('serves the pattern read-only, as qemu-io sees it', async () => {
    const server = await startServer(['pattern', '1G']);
    try {
      const r = await runOk('qemu-io', ['-r', '-f', 'raw', '-c', 'r -v 1000000000 32', server.uri]);
      expect(r.stdout).toContain('3b9aca00:  00 00 00 00 3b 9a ca 00 00 00 00 00 3b 9a ca 08');
      await nbdsh(server.uri, `
assert h.is_read_only() and h.can_multi_conn() and h.can_cache()
try:
    h.pwrite(b"x", 0)
    raise AssertionError("the write succeeded")
except nbd.Error as e:
    assert e.errno == "EPERM", e.errno
`);
    } finally {
      await server.stop();
    }
  });

  it('serves 2^63-1 bytes, the last word cut short', async () => {
    const r = await runOk(process.execPath, [cliPath(), '-U', '-', 'pattern', 'size=9223372036854775807', '--run', `nbdsh -u "$uri" -c 'print(h.pread(7, h.get_size() - 7).hex())'`]);
    expect(r.stdout.trim()).toBe('7fffffffffffff');
  });

  it.each([
    [[], 'pattern: size= is required: the size of the disk (nbdkit-ts pattern 1G)'],
    [['size=big'], 'pattern: size=big: expected a size'],
  ])('refuses %j, naming the parameter', async (params, message) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', 'pattern', ...params, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });
});
