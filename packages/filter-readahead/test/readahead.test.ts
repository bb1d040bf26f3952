import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FAULT_FILTER, fioVerify, nbdsh, run, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';

/** The cache filter's test layer that logs every call passing through it. */
const COUNT_CALLS = fileURLToPath(new URL('../../filter-cache/test/count-calls-filter.js', import.meta.url));
/** The multi-conn filter's test layer that declares serialize-connections. */
const SERIALIZE = fileURLToPath(new URL('../../filter-multi-conn/test/serialize-connections-filter.js', import.meta.url));
const MiB = 1 << 20;

let dir: string;
let disk: string;
let counts: string;
let data: Buffer;

beforeAll(() => {
  dir = tempDir();
  disk = join(dir, 'disk.img');
  counts = join(dir, 'counts');
  data = randomBytes(16 * MiB);
  writeFileSync(disk, data);
});

beforeEach(() => rmSync(counts, { force: true }));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The calls the counting layer beneath the readahead filter saw, in order, as [name, offset, count]. */
function calls(): string[][] {
  return existsSync(counts) ? readFileSync(counts, 'utf8').trim().split('\n').map((l) => l.split(' ')) : [];
}

async function withServer<T>(args: readonly string[], body: (server: ServerProcess) => Promise<T>): Promise<T> {
  const server = await startServer(['-v', '--filter=readahead', ...args]);
  try {
    return await body(server);
  } finally {
    await server.stop();
    expect(server.stderr()).not.toMatch(/contexts still open|not done within/);
  }
}

describe('sequential reads', () => {
  it('prefetch ahead with NBD_CMD_CACHE, each sent before the read that triggered it goes beneath', async () => {
    await withServer([`--filter=${COUNT_CALLS}`, '--filter=cache', 'file', disk, `count-file=${counts}`, `cache-dir=${dir}`], async (s) => {
      const out = join(dir, 'out.img');
      await runOk('nbdcopy', ['--connections=1', '--requests=1', '--request-size=1048576', s.uri, out]);
      expect(readFileSync(out).equals(data)).toBe(true);
      const seen = calls();
      const reads = seen.filter((c) => c[0] === 'pread');
      expect(reads.length).toBe(16);
      // The first read (at 0) starts the window: the blocks after it are asked for before it.
      expect(seen.slice(0, 5)).toEqual([
        ['cache', String(MiB), String(MiB)],
        ['cache', String(2 * MiB), String(MiB)],
        ['cache', String(3 * MiB), String(MiB)],
        ['cache', String(4 * MiB), String(MiB)],
        ['pread', '0', String(MiB)],
      ]);
      // Every block after the first is prefetched once, and before it is read.
      const cached = seen.filter((c) => c[0] === 'cache').map((c) => Number(c[1]));
      expect(cached).toEqual([...Array(15).keys()].map((i) => (i + 1) * MiB));
      for (const [, offset] of reads.slice(1)) {
        expect(seen.findIndex((c) => c[0] === 'cache' && c[1] === offset)).toBeLessThan(seen.findIndex((c) => c[0] === 'pread' && c[1] === offset));
      }
    });
  });

  it('a read elsewhere closes the window: random reads prefetch nothing', async () => {
    await withServer([`--filter=${COUNT_CALLS}`, 'file', disk, `count-file=${counts}`], async (s) => {
      await nbdsh(s.uri, 'for off in [5, 1, 9, 3, 12, 7]:\n    h.pread(65536, off * 1048576 + 4096)');
      expect(calls().filter((c) => c[0] === 'cache')).toEqual([]);
    });
  });

  it('fio writes sequentially and verifies with sequential reads (prefetched) through the cache, 16 deep', async () => {
    // A disk of its own: the other tests compare theirs with what it held at the start.
    const scratch = join(dir, 'fio.img');
    writeFileSync(scratch, Buffer.alloc(16 * MiB));
    await withServer(['--filter=cache', '--filter=delay', 'file', scratch, 'delay-read=2ms', `cache-dir=${dir}`], async (s) => {
      await fioVerify(s.uri, { rw: 'write', bs: '256k', size: '8M' });
    });
  });

  it('qemu-img convert reads the whole disk correctly through readahead, cache and a slow disk', async () => {
    await withServer(['--filter=cache', '--filter=delay', 'file', disk, 'delay-read=5ms', `cache-dir=${dir}`], async (s) => {
      const out = join(dir, 'qemu.img');
      await runOk('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', s.uri, out]);
      expect(readFileSync(out).equals(data)).toBe(true);
    });
  });
});

describe('when prefetching cannot help', () => {
  it('layers beneath that take one request at a time: reads pass through, and the filter says why', async () => {
    await withServer([`--filter=${SERIALIZE}`, `--filter=${COUNT_CALLS}`, 'file', disk, `count-file=${counts}`], async (s) => {
      await nbdsh(s.uri, 'for i in range(4):\n    h.pread(1048576, i * 1048576)');
      expect(calls().map((c) => c[0])).toEqual(['pread', 'pread', 'pread', 'pread']);
      expect(s.stderr()).toMatch(/readahead\[1\]: warning: not prefetching: the layers beneath take one request at a time \(serialize-connections\)/);
    });
  });
});

describe('a prefetch that fails', () => {
  it('is logged, and the reads are answered', async () => {
    await withServer([`--filter=${FAULT_FILTER}`, 'file', disk, 'fault-calls=cache', 'fault-error=EIO'], async (s) => {
      const out = join(dir, 'faulty.img');
      await runOk('nbdcopy', ['--connections=1', '--requests=1', '--request-size=1048576', s.uri, out]);
      expect(readFileSync(out).equals(data)).toBe(true);
      expect(s.stderr()).toMatch(/readahead.*warning: prefetch of \d+ bytes at \d+: fault: EIO injected into cache/);
    });
  });
});

describe('shutdown', () => {
  it('while prefetches wait on a slow disk: nothing is left running, every context is closed', async () => {
    const server = await startServer(['-v', '--filter=readahead', '--filter=cache', '--filter=delay', 'file', disk, 'delay-read=600', `cache-dir=${dir}`]);
    const reading = run('nbdsh', ['-u', server.uri, '-c', 'h.pread(1048576, 0)\nh.pread(1048576, 1048576)']);
    // The request is waiting in the delay filter.
    await expect.poll(() => server.stderr(), { timeout: 20_000 }).toMatch(/delay(\[\d+\])?: debug: pread: waiting/);
    expect(await server.stop()).toBe(0);
    expect((await reading).status).not.toBe(0);
    expect(server.stderr()).not.toMatch(/contexts still open|not done within/);
    expect(server.stderr()).toContain('contexts open: readahead 0, cache 0, delay 1, file 1');
  });
});
