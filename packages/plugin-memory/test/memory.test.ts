import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliPath, nbdsh, run, runOk, startServer } from '@nbdkit-ts/testing';

/** A memory figure of the server from /proc/PID/status, in bytes: VmRSS (resident now) or VmHWM (the peak). */
function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kib) * 1024;
}

/** `nbdinfo --map` as [offset, length, type description] rows. */
async function map(uri: string): Promise<string[][]> {
  const r = await runOk('nbdinfo', ['--map', uri]);
  return r.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/).filter((_, i) => i !== 2));
}

describe('the memory plugin', () => {
  it('shares one disk between connections, as qemu-io and nbdsh see it', async () => {
    const server = await startServer(['memory', '16M']);
    try {
      await runOk('qemu-io', ['-f', 'raw', '-c', 'write -P 0xab 1M 2M', server.uri]);
      await runOk('qemu-io', ['-f', 'raw', '-r', '-c', 'read -P 0xab 1M 2M', '-c', 'read -P 0 0 1M', '-c', 'read -P 0 3M 13M', server.uri]);
      await nbdsh(server.uri, 'assert h.can_multi_conn() and h.can_fua() and h.can_trim() and h.can_fast_zero()');
    } finally {
      await server.stop();
    }
  });

  it('serves 2^63-1 bytes: writes at the start, in the middle and at the very end read back', async () => {
    const server = await startServer(['memory', 'size=9223372036854775807']);
    try {
      await nbdsh(server.uri, `
assert h.get_size() == 9223372036854775807
for data, at in [(b"1" * 512, 0), (b"2" * 65536, 1000000001), (b"3" * 511, 9223372036854775296)]:
    h.pwrite(data, at)
    assert h.pread(len(data), at) == data
assert h.pread(10, 9223372036854775296 - 10) == bytes(10)
`);
    } finally {
      await server.stop();
    }
  });

  it('takes memory only for what is written, reports the rest as holes, and gives back what is trimmed', async () => {
    const server = await startServer(['memory', '1T']);
    try {
      await nbdsh(server.uri, `
for i in range(64):
    h.pwrite(b"x" * (1 << 20), i << 34)
h.trim(1 << 20, 1 << 34)
h.zero(1 << 19, 2 << 34)
`);
      expect(status(server.child.pid as number, 'VmRSS')).toBeLessThan(256 * 1024 * 1024);
      const rows = await map(server.uri);
      expect(rows.slice(0, 5)).toEqual([
        ['0', '1048576', 'data'],
        ['1048576', `${2 ** 35 + 2 ** 19 - 2 ** 20}`, 'hole,zero'],
        [`${2 ** 35 + 2 ** 19}`, '524288', 'data'],
        [`${2 ** 35 + 2 ** 20}`, `${2 ** 34 - 2 ** 20}`, 'hole,zero'],
        [`${3 * 2 ** 34}`, '1048576', 'data'],
      ]);
      expect(rows.filter((r) => r[2] === 'data')).toHaveLength(63);
    } finally {
      await server.stop();
    }
  });

  it('serves a sparse 1 TiB disk with less than 100 MiB resident: 4 MiB written across it reads back, the rest reads as zeroes', async () => {
    const server = await startServer(['memory', 'size=1T']);
    try {
      // 64 writes of 64 KiB of random bytes, one at a random place in each 16 GiB of the disk, the
      // last at its very end; each reads back, and so do zeroes just before and after it and at
      // a random place between it and the next.
      await nbdsh(server.uri, `
import random
rnd = random.Random(1)
T = 1 << 40
SLOT = T // 64
N = 65536
assert h.get_size() == T
writes = []
for i in range(64):
    at = T - N if i == 63 else i * SLOT + rnd.randrange(SLOT // 2)
    data = rnd.randbytes(N)
    h.pwrite(data, at)
    writes.append((at, data))
for at, data in writes:
    assert h.pread(N, at) == data, at
    if at >= 4096:
        assert h.pread(4096, at - 4096) == bytes(4096), at
    if at + N < T:
        assert h.pread(4096, at + N) == bytes(4096), at
        elsewhere = at + N + rnd.randrange(SLOT // 4)
        assert h.pread(N, elsewhere) == bytes(N), elsewhere
`);
      const pid = server.child.pid as number;
      expect(status(pid, 'VmRSS')).toBeLessThan(100 * 1024 * 1024);
      expect(status(pid, 'VmHWM')).toBeLessThan(100 * 1024 * 1024);
    } finally {
      await server.stop();
    }
  });

  it('--dump-plugin says, as nbdkit does, that the mlock and zstd allocators are not available', async () => {
    const r = await runOk(process.execPath, [cliPath(), '--dump-plugin', 'memory']);
    expect(r.stdout).toMatch(/^mlock=no\nzstd=no$/m);
  });

  it('allocator=malloc serves a disk taken whole, all data', async () => {
    const server = await startServer(['memory', '3M', 'allocator=malloc']);
    try {
      await runOk('qemu-io', ['-f', 'raw', '-c', 'write -P 0x11 2M 1M', '-c', 'write -z 2M 4k', '-c', 'read -P 0 2M 4k', '-c', 'read -P 0x11 2052k 1020k', server.uri]);
      expect(await map(server.uri)).toEqual([['0', '3145728', 'data']]);
    } finally {
      await server.stop();
    }
  });

  it.each([
    [[], 'memory: size= is required: the size of the disk'],
    [['size=lots'], 'memory: size=lots: expected a size'],
    [['9223372036854775808'], 'memory: size=9223372036854775808: size is too large'],
    [['1M', 'allocator=zstd'], 'memory: allocator=zstd: zstd is not supported'],
    [['1M', 'allocator=malloc,mlock=true'], 'memory: allocator=malloc,mlock=true: mlock is not supported'],
    [['1M', 'allocator=malloc,mlock=perhaps'], 'memory: allocator=malloc,mlock=perhaps: mlock=perhaps: expected a boolean'],
    [['1M', 'allocator=sparse,mlock=false'], 'memory: allocator=sparse,mlock=false: sparse has no option mlock'],
    [['1M', 'allocator=heap'], 'memory: allocator=heap: expected sparse or malloc'],
    [['1E', 'allocator=malloc'], 'memory: allocator=malloc: 1152921504606846976 bytes is more than the machine'],
  ])('refuses %j, naming the parameter', async (params, message) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', 'memory', ...params, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });
});
