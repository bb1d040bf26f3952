import { describe, expect, it } from 'vitest';
import { cliPath, nbdsh, run, runOk, startServer } from '@nbdkit-ts/testing';

describe('the null plugin', () => {
  it('reads zeroes, discards writes, and reports one hole that reads as zeroes', async () => {
    const server = await startServer(['null', '1G']);
    try {
      await nbdsh(server.uri, `
assert h.get_size() == 1 << 30
h.pwrite(b"x" * 4096, 12345, nbd.CMD_FLAG_FUA)
h.flush()
h.trim(1 << 20, 0)
h.zero(1 << 20, 0, nbd.CMD_FLAG_FAST_ZERO)
h.cache(1 << 20, 0)
assert h.pread(8192, 12345 - 4096) == bytes(8192)
assert h.can_multi_conn() and h.can_fua() and h.can_trim() and h.can_zero() and h.can_fast_zero() and h.can_cache()
`);
      const map = await runOk('qemu-img', ['map', '-f', 'raw', '--output=json', server.uri]);
      expect(JSON.parse(map.stdout)).toMatchObject([{ start: 0, length: 1 << 30, data: false, zero: true }]);
    } finally {
      await server.stop();
    }
  });

  it('is empty without a size', async () => {
    const r = await runOk(process.execPath, [cliPath(), '-U', '-', 'null', '--run', 'nbdinfo --size "$uri"']);
    expect(r.stdout.trim()).toBe('0');
  });

  it.each([
    [['size=none'], 'null: size=none: expected a size'],
    [['9E'], 'null: size=9E: size is too large'],
  ])('refuses %j, naming the parameter', async (params, message) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', 'null', ...params, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });
});
