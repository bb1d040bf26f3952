import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cliPath, FAULT_FILTER, fioVerify, nbdsh, run, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';

const COUNT_CALLS = fileURLToPath(new URL('./count-calls-filter.js', import.meta.url));
const MiB = 1 << 20;

let dir: string;
let disk: string;
let counts: string;
let data: Buffer;

beforeAll(() => {
  dir = tempDir();
  disk = join(dir, 'disk.img');
  counts = join(dir, 'counts');
});

beforeEach(() => {
  data = randomBytes(16 * MiB);
  writeFileSync(disk, data);
  rmSync(counts, { force: true });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The calls the counting layer beneath the cache saw, as [name, offset, count]. */
function calls(name?: string): string[][] {
  const lines = existsSync(counts) ? readFileSync(counts, 'utf8').trim().split('\n') : [];
  return lines.map((l) => l.split(' ')).filter((c) => name === undefined || c[0] === name);
}

/** A server with the cache over the counting layer over the file; `cacheDir` receives the cache file. */
async function withCache<T>(params: readonly string[], body: (server: ServerProcess) => Promise<T>, beneath: readonly string[] = []): Promise<T> {
  const server = await startServer(['-v', '--filter=cache', `--filter=${COUNT_CALLS}`, ...beneath, 'file', disk, `count-file=${counts}`, `cache-dir=${dir}`, ...params]);
  try {
    return await body(server);
  } finally {
    await server.stop();
    expect(server.stderr()).not.toMatch(/contexts still open|not done within/);
  }
}

describe('reads', () => {
  it('reads served from the cache make no call beneath', async () => {
    await withCache(['cache-on-read=true'], async (s) => {
      await nbdsh(s.uri, 'h.pread(1024 * 1024, 512 * 1024)');
      const first = calls('pread');
      // One whole-block read for each of the two blocks the request touched.
      expect(first).toEqual([
        ['pread', '0', String(MiB)],
        ['pread', String(MiB), String(MiB)],
      ]);
      const { stdout } = await nbdsh(s.uri, 'import hashlib\nprint(hashlib.sha256(h.pread(2 * 1024 * 1024, 0)).hexdigest())');
      expect(calls('pread')).toEqual(first);
      const { createHash } = await import('node:crypto');
      expect(stdout.trim()).toBe(createHash('sha256').update(data.subarray(0, 2 * MiB)).digest('hex'));
    });
  });

  it('without cache-on-read, reads pass through and are not kept; NBD_CMD_CACHE fills the cache', async () => {
    await withCache([], async (s) => {
      await nbdsh(s.uri, 'h.pread(4096, 0)\nh.pread(4096, 0)');
      expect(calls('pread')).toEqual([
        ['pread', '0', '4096'],
        ['pread', '0', '4096'],
      ]);
      await nbdsh(s.uri, 'h.cache(3 * 1024 * 1024, 0)\nassert h.pread(4096, 4096) == open(' + JSON.stringify(disk) + ', "rb").read(8192)[4096:]');
      expect(calls('pread').length).toBe(2 + 3);
      expect(calls('cache')).toEqual([]);
    });
  });

  it('cache-on-read=/PATH keeps reads only while PATH exists', async () => {
    const flag = join(dir, 'on');
    rmSync(flag, { force: true });
    await withCache([`cache-on-read=${flag}`], async (s) => {
      await nbdsh(s.uri, 'h.pread(4096, 0)');
      writeFileSync(flag, '');
      await nbdsh(s.uri, 'h.pread(4096, 0)\nh.pread(4096, 0)');
      expect(calls('pread')).toEqual([
        ['pread', '0', '4096'],
        ['pread', '0', String(MiB)],
      ]);
    });
    rmSync(flag);
  });

  it('nothing is left in cache-dir, while serving or after', async () => {
    await withCache(['cache-on-read=true'], async (s) => {
      await nbdsh(s.uri, 'h.pread(4096, 0)');
      expect(readdirSync(dir).filter((f) => f.startsWith('nbdkit-ts-cache'))).toEqual([]);
    });
  });
});

describe('writes', () => {
  it('writeback: written data reaches the disk beneath on flush, not before', async () => {
    await withCache([], async (s) => {
      await nbdsh(s.uri, 'h.pwrite(b"\\x5a" * 4096, 8192)\nimport os\nassert open(' + JSON.stringify(disk) + ', "rb").read(12288)[8192:] != b"\\x5a" * 4096\nh.flush()');
      expect(readFileSync(disk).subarray(8192, 12288).equals(Buffer.alloc(4096, 0x5a))).toBe(true);
      // The partial block was read once beneath, then written back whole.
      expect(calls('pread')).toEqual([['pread', '0', String(MiB)]]);
      expect(calls('pwrite')).toEqual([['pwrite', '0', String(MiB)]]);
    });
  });

  it('writeback: a connection that closes without a flush writes its dirty blocks back', async () => {
    await withCache([], async (s) => {
      await nbdsh(s.uri, 'h.pwrite(b"\\x33" * 4096, 0)');
      // The server writes back as the connection ends, after the client has gone.
      while (!readFileSync(disk).subarray(0, 4096).equals(Buffer.alloc(4096, 0x33))) await new Promise((r) => setTimeout(r, 20));
      // Nothing is dirty at the next close: no flush beneath but that of the first.
      await nbdsh(s.uri, 'h.pread(512, 0)');
      await s.stop();
      expect(calls('flush').length).toBe(1);
    });
  });

  it('writeback: a FUA write reaches the disk beneath at once', async () => {
    await withCache([], async (s) => {
      await nbdsh(s.uri, 'h.pwrite(b"\\xa5" * 512, 0, nbd.CMD_FLAG_FUA)');
      expect(readFileSync(disk).subarray(0, 512).equals(Buffer.alloc(512, 0xa5))).toBe(true);
    });
  });

  it('writethrough: every write reaches the disk beneath at once', async () => {
    await withCache(['cache=writethrough'], async (s) => {
      await nbdsh(s.uri, 'h.pwrite(b"\\x11" * 512, 4096)');
      expect(readFileSync(disk).subarray(4096, 4608).equals(Buffer.alloc(512, 0x11))).toBe(true);
    });
  });

  it('unsafe: a flush writes nothing back', async () => {
    await withCache(['cache=unsafe'], async (s) => {
      await nbdsh(s.uri, 'h.pwrite(b"\\x22" * 512, 0)\nh.flush()\nassert h.pread(512, 0) == b"\\x22" * 512');
      expect(calls('pwrite')).toEqual([]);
      expect(readFileSync(disk).subarray(0, 512).equals(data.subarray(0, 512))).toBe(true);
    });
  });

  it('qemu-img convert and nbdcopy through the cache: the disk beneath ends up the same', async () => {
    await withCache(['cache-min-block-size=64K'], async (s) => {
      const src = join(dir, 'src.img');
      const out = join(dir, 'out.img');
      const fresh = randomBytes(16 * MiB);
      writeFileSync(src, fresh);
      await runOk('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', src, s.uri]);
      expect(readFileSync(disk).equals(fresh)).toBe(true);
      await runOk('nbdcopy', [s.uri, out]);
      expect(readFileSync(out).equals(fresh)).toBe(true);
    });
  });

  it('fio writes with crc32c verification, 16 deep', async () => {
    await withCache(['cache-min-block-size=64K', 'cache-max-size=2M'], async (s) => {
      await fioVerify(s.uri, { bs: '16k', size: '8M' });
    });
  });
});

describe('cache-max-size', () => {
  it('reclaims the least recently used blocks, writing dirty ones back first', async () => {
    await withCache(['cache-min-block-size=64K', 'cache-max-size=1M', 'cache=unsafe'], async (s) => {
      // 4 MiB written: far more than the cache may hold, so the reclaim writes most of it back.
      await nbdsh(s.uri, 'for i in range(64):\n    h.pwrite(bytes([i]) * 65536, i * 65536)\nimport time\ntime.sleep(0.5)\nfor i in range(64):\n    assert h.pread(65536, i * 65536) == bytes([i]) * 65536, i');
      expect(calls('pwrite').length).toBeGreaterThan(32);
      expect(s.stderr()).toMatch(/cache: debug: reclaim: \d+ blocks cached/);
    });
  });

  it('the cache file stays within cache-max-size while a client reads a disk 16 times that size', async () => {
    const limit = MiB;
    await withCache(['cache-min-block-size=64K', `cache-max-size=${limit}`, 'cache-on-read=true'], async (s) => {
      const pid = s.child.pid as number;
      /** Bytes allocated to the (deleted) cache file in cache-dir. */
      const allocated = (): number => {
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
          // A descriptor may close between the listing and the look (the server's sockets come and go).
          try {
            const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
            if (target.startsWith(dir) && target.endsWith('(deleted)')) return statSync(`/proc/${pid}/fd/${fd}`).blocks * 512;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          }
        }
        return 0;
      };
      let most = 0;
      const sampler = setInterval(() => (most = Math.max(most, allocated())), 5);
      try {
        const out = join(dir, 'copy.img');
        await runOk('nbdcopy', ['--requests=1', '--request-size=65536', s.uri, out]);
        expect(readFileSync(out).equals(data)).toBe(true);
        rmSync(out);
      } finally {
        clearInterval(sampler);
      }
      most = Math.max(most, allocated());
      // One read at a time fills one 64 KiB block, and the reclaim runs as the cache grows past its high mark.
      expect(most).toBeGreaterThan(limit / 2);
      expect(most).toBeLessThanOrEqual(limit + 64 * 1024);
      expect(s.stderr()).toMatch(/cache: debug: reclaim: \d+ blocks cached/);
    });
  });

  it('a reclaim that cannot write back is logged, and requests are still answered', async () => {
    const trigger = join(dir, 'fail');
    writeFileSync(trigger, 'EIO');
    await withCache(
      ['cache-min-block-size=64K', 'cache-max-size=256K', 'cache=unsafe', `fault-file=${trigger}`, 'fault-calls=pwrite'],
      async (s) => {
        await nbdsh(s.uri, 'for i in range(16):\n    h.pwrite(bytes([i]) * 65536, i * 65536)\nfor i in range(16):\n    assert h.pread(65536, i * 65536) == bytes([i]) * 65536, i');
        while (!/cache: error: reclaim: block \d+: .*EIO/.test(s.stderr())) await new Promise((r) => setTimeout(r, 50));
        rmSync(trigger);
        await nbdsh(s.uri, 'h.pwrite(b"\\x01" * 65536, 16 * 65536)\nassert h.pread(65536, 0) == bytes([0]) * 65536');
      },
      [`--filter=${FAULT_FILTER}`],
    );
  });
});

describe('shutdown', () => {
  it('while blocks are being filled from a slow disk: every context closed, nothing left running', async () => {
    const server = await startServer(['-v', '--filter=cache', '--filter=delay', 'file', disk, 'delay-read=600', `cache-dir=${dir}`]);
    const filling = run('nbdsh', ['-u', server.uri, '-c', 'h.cache(8 * 1024 * 1024, 0)']);
    // The request is waiting in the delay filter.
    await expect.poll(() => server.stderr(), { timeout: 20_000 }).toMatch(/delay(\[\d+\])?: debug: pread: waiting/);
    expect(await server.stop()).toBe(0);
    expect((await filling).status).not.toBe(0);
    expect(server.stderr()).not.toMatch(/contexts still open|not done within/);
    // Only the cache's shared context is open beneath once the connection is gone.
    expect(server.stderr()).toContain('contexts open: cache 0, delay 1, file 1');
  });

  it('while the reclaim runs: it stops, and the shared context closes', async () => {
    await withCache(
      ['cache-min-block-size=64K', 'cache-max-size=256K', 'cache=unsafe', 'delay-write=50ms'],
      async (s) => {
        await nbdsh(s.uri, 'for i in range(64):\n    h.pwrite(bytes([i]) * 65536, i * 65536)');
      },
      ['--filter=delay'],
    );
  });
});

describe('parameters', () => {
  const serve = (...params: string[]) => run(process.execPath, [cliPath(), '-f', '-U', join(dir, 'never.sock'), '--filter=cache', 'file', disk, ...params]);

  it.each([
    ['cache=sometimes', 'cache: cache=sometimes: expected one of writeback, writethrough, unsafe'],
    ['cache-min-block-size=1000', 'cache: cache-min-block-size=1000: expected a power of 2 from 4K to 64M'],
    ['cache-min-block-size=2K', 'cache: cache-min-block-size=2K: expected a power of 2 from 4K to 64M'],
    ['cache-min-block-size=lots', 'cache: cache-min-block-size=lots: expected a size'],
    ['cache-max-size=0', 'cache: cache-max-size=0: the cache must be able to hold something'],
    ['cache-high-threshold=100', 'cache: cache-high-threshold=100: expected a whole number from 1 to 99'],
    ['cache-low-threshold=x', 'cache: cache-low-threshold=x: expected a whole number from 1 to 99'],
    ['cache-on-read=maybe', 'cache: cache-on-read=maybe: expected a boolean'],
    ['cache-on-read=relative/path', 'cache: cache-on-read=relative/path: a path must be absolute'],
    ['cache-dir=/nonexistent/folder', 'cache: cache-dir=/nonexistent/folder: not a folder'],
  ])('%s is refused', async (param, message) => {
    const r = await serve(param);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it('cache-low-threshold must be below cache-high-threshold', async () => {
    const r = await serve('cache-high-threshold=50', 'cache-low-threshold=60');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cache: cache-low-threshold=60 must be below cache-high-threshold=50');
  });
});
