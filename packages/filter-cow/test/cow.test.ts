import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLifecycle, cliPath, FAULT_FILTER, fioVerify, MEMORY_PLUGIN, nbdsh, run, runOk, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dir: string;
let base: string;
let baseSum: string;
/** Where the server makes its overlays ($TMPDIR). */
let tmp: string;

beforeAll(() => {
  dir = tempDir();
  tmp = tempDir('nbdkit-ts-cow-tmp-');
  base = join(dir, 'base.img');
  writeFileSync(base, randomBytes(16 * MiB));
  baseSum = sha(readFileSync(base));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

const serve = (...params: string[]) => startServer([`--filter=${FILTER}`, 'file', base, ...params], { env: { TMPDIR: tmp } });

async function withServer(params: string[], body: (server: ServerProcess) => Promise<void>): Promise<void> {
  const server = await serve(...params);
  try {
    await body(server);
  } finally {
    expect(await server.stop()).toBe(0);
  }
}

/**
 * Four connections at once, each with many requests in flight: writes,
 * trims and zeroes of random lengths at random offsets. In the first 8 MiB
 * connection k owns the 4 KiB slices whose number is k modulo 4, so every
 * 64 KiB block is changed by all four at once, most requests being parts of
 * blocks; in the last 8 MiB each owns 2 MiB of whole-block requests. Then
 * every connection must read what the model says, and the base is unchanged.
 */
const MIXED = `
import random
N = 4
SLICE = 4096
base = open(BASE, "rb").read()
model = bytearray(base)
hs = [h] + [nbd.NBD() for _ in range(N - 1)]
for x in hs[1:]:
    x.connect_uri(h.get_uri())

def op(k, r):
    if r.random() < 0.25:
        start = 8 * 2**20 + k * 2 * 2**20
        off = start + r.randrange(0, 29) * 65536
        n = r.randrange(1, 4) * 65536
    else:
        s = r.randrange(0, 8 * 2**20 // SLICE // N) * N + k
        lo = r.randrange(0, SLICE)
        off = s * SLICE + lo
        n = r.randrange(1, SLICE - lo + 1)
    kind = r.choice(["write", "write", "zero", "trim"])
    return kind, off, n

for rnd in range(20):
    for k, x in enumerate(hs):
        r = random.Random(1000 * rnd + k)
        used = set()
        for i in range(16):
            kind, off, n = op(k, r)
            if any(a < off + n and off < b for a, b in used):
                continue
            used.add((off, off + n))
            if kind == "write":
                data = r.randbytes(n)
                model[off:off + n] = data
                x.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(data)), off)
            elif kind == "zero":
                model[off:off + n] = bytes(n)
                x.aio_zero(n, off)
            else:
                model[off:off + n] = bytes(n)
                x.aio_trim(n, off)
    for x in hs:
        while x.aio_in_flight() > 0:
            x.poll(-1)

for k, x in enumerate(hs):
    for off in range(0, len(model), 4 * 2**20):
        got = x.pread(4 * 2**20, off)
        want = bytes(model[off:off + 4 * 2**20])
        if got != want:
            at = next(i for i in range(len(got)) if got[i] != want[i])
            raise AssertionError("connection %d reads a wrong byte at %d" % (k, off + at))
changed = sum(1 for i in range(0, len(model), 4096) if model[i:i + 4096] != base[i:i + 4096])
print(changed)
`;

describe('the cow filter over a file', () => {
  it('four connections writing, trimming and zeroing at once all read what was written; the base is unchanged', async () => {
    await withServer([], async (server) => {
      const { stdout } = await nbdsh(server.uri, `BASE = ${JSON.stringify(base)}\n${MIXED}`);
      expect(Number(stdout.trim())).toBeGreaterThan(500);
      expect(sha(readFileSync(base))).toBe(baseSum);
    });
  }, 120_000);

  it('the overlay is shared by every connection and kept across connections, but not across servers, and no file is left in TMPDIR', async () => {
    const script = (check: string) => `
want = b"written through the cow filter"
${check}
`;
    await withServer([], async (server) => {
      await nbdsh(server.uri, script('h.pwrite(want, 1000)\nh.zero(65536, 65536)'));
      // The overlay file was unlinked as soon as it was open.
      expect(readdirSync(tmp)).toEqual([]);
      await nbdsh(server.uri, script('assert h.pread(len(want), 1000) == want\nassert h.pread(65536, 65536) == bytes(65536)'));
    });
    await withServer([], async (server) => {
      await nbdsh(server.uri, script(`assert h.pread(65536, 0) == open(${JSON.stringify(base)}, "rb").read(65536)`));
    });
    expect(sha(readFileSync(base))).toBe(baseSum);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('the overlay survives a reopen: a filter above (reopen) replacing the cow context still sees what was written', async () => {
    const trigger = join(dir, 'fault-trigger');
    const args = ['-v', '--filter=reopen', `--filter=${FILTER}`, `--filter=${FAULT_FILTER}`, 'file', base, `fault-file=${trigger}`, 'fault-calls=pread', 'retry-delay=0.2'];
    const server = await startServer(args, { env: { TMPDIR: tmp } });
    try {
      await nbdsh(
        server.uri,
        `
import os, time
h.pwrite(b"kept" * 16384, 0)
open(${JSON.stringify(trigger)}, "w").close()
cookie = h.aio_pread(nbd.Buffer(65536), 1 << 20)
time.sleep(0.1)
os.unlink(${JSON.stringify(trigger)})
while not h.aio_command_completed(cookie):
    h.poll(-1)
assert h.pread(65536, 0) == b"kept" * 16384
`,
      );
      expect(server.stderr()).toMatch(/reopen\[1\]: debug: reopen: context 2 is open/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(sha(readFileSync(base))).toBe(baseSum);
  });

  it('block status merges the overlay with the disk beneath', async () => {
    const sparse = join(dir, 'sparse.img');
    writeFileSync(sparse, Buffer.alloc(0));
    await runOk('truncate', ['-s', '4M', sparse]);
    const server = await startServer([`--filter=${FILTER}`, 'file', sparse], { env: { TMPDIR: tmp } });
    try {
      await nbdsh(server.uri, 'h.pwrite(b"x" * 100, 65536 + 10)\nh.pwrite(b"y" * 65536, 3 * 65536)\nh.trim(65536, 3 * 65536)');
      const { stdout } = await runOk('nbdinfo', ['--map', server.uri]);
      const map = stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).slice(0, 3).map(Number));
      expect(map).toEqual([
        [0, 65536, 3],
        [65536, 65536, 0],
        [131072, 4 * MiB - 131072, 3],
      ]);
    } finally {
      await server.stop();
    }
  });

  it('cow-on-read=true serves a block from the overlay once read; cow-on-read=/PATH only while PATH exists', async () => {
    // A block read once is in the overlay: block status reports it as data over a sparse base.
    const sparse = join(dir, 'sparse-read.img');
    await runOk('truncate', ['-s', '1M', sparse]);
    const flag = join(dir, 'copy-on-read');
    const server = await startServer([`--filter=${FILTER}`, 'file', sparse, `cow-on-read=${flag}`], { env: { TMPDIR: tmp } });
    try {
      await nbdsh(server.uri, 'h.pread(100, 10)');
      writeFileSync(flag, '');
      await nbdsh(server.uri, 'h.pread(100, 3 * 65536 + 10)');
      const { stdout } = await runOk('nbdinfo', ['--map', server.uri]);
      expect(stdout).toMatch(/^\s+196608\s+65536\s+0\s+data$/m);
      expect(stdout).toMatch(/^\s+0\s+196608\s+3\s+hole,zero$/m);
    } finally {
      await server.stop();
    }
  });

  it('cow-on-cache=true copies cached blocks into the overlay', async () => {
    const sparse = join(dir, 'sparse-cache.img');
    await runOk('truncate', ['-s', '1M', sparse]);
    const server = await startServer([`--filter=${FILTER}`, 'file', sparse, 'cow-on-cache=true'], { env: { TMPDIR: tmp } });
    try {
      await nbdsh(server.uri, 'h.cache(1000, 65536 + 5)');
      const { stdout } = await runOk('nbdinfo', ['--map', server.uri]);
      expect(stdout).toMatch(/^\s+65536\s+65536\s+0\s+data$/m);
    } finally {
      await server.stop();
    }
  });

  it('qemu-io, nbdcopy and fio with verification work through it, and the base is unchanged', async () => {
    await withServer([], async (server) => {
      await runOk('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5a 1000 2M', '-c', 'read -P 0x5a 1000 2M', '-c', 'write -z 5M 1M', '-c', 'read -P 0 5M 1M', server.uri]);
      await fioVerify(server.uri, { bs: '12k', size: '3M', jobs: 4, offsetIncrement: '4M' });
      const out = join(dir, 'out.img');
      await runOk('nbdcopy', ['--connections=4', server.uri, out]);
      const copied = readFileSync(out);
      const again = join(dir, 'again.img');
      await runOk('nbdcopy', ['--connections=1', server.uri, again]);
      expect(sha(readFileSync(again))).toBe(sha(copied));
      expect(sha(readFileSync(base))).toBe(baseSum);
    });
  }, 120_000);

  it('qemu-img makes a qcow2 diff of the changes against the base while the server runs', async () => {
    await withServer([], async (server) => {
      await runOk('qemu-io', ['-f', 'raw', '-c', 'write -P 0x33 1M 64k', server.uri]);
      const diff = join(dir, 'diff.qcow2');
      await runOk('qemu-img', ['create', '-F', 'raw', '-b', server.uri, '-f', 'qcow2', diff], { cwd: dir });
      await runOk('qemu-img', ['rebase', '-F', 'raw', '-b', base, '-f', 'qcow2', diff], { cwd: dir });
      const { stdout } = await runOk('qemu-img', ['map', '--output=json', diff]);
      const inDiff = (JSON.parse(stdout) as { start: number; length: number; depth: number }[]).filter((e) => e.depth === 0);
      expect(inDiff.map((e) => [e.start, e.length])).toEqual([[MiB, 65536]]);
      await runOk('qemu-io', ['-f', 'qcow2', '-c', 'read -P 0x33 1M 64k', diff]);
    });
    expect(sha(readFileSync(base))).toBe(baseSum);
  });

  it('clients leaving in every way leave no context open', async () => {
    await checkLifecycle([`--filter=${FILTER}`, MEMORY_PLUGIN, '16M'], { clients: 20, start: { env: { TMPDIR: tmp } } });
  }, 120_000);
});

describe('the cow filter\'s parameters', () => {
  const refused = (...params: string[]) => run(process.execPath, [cliPath(), '-f', '-U', join(dir, 'never.sock'), `--filter=${FILTER}`, 'file', base, ...params]);

  it.each([
    ['cow-block-size=1000', 'cow: cow-block-size=1000: expected a power of two from 4K to 2G'],
    ['cow-block-size=2K', 'cow: cow-block-size=2K: expected a power of two from 4K to 2G'],
    ['cow-block-size=4G', 'cow: cow-block-size=4G: expected a power of two from 4K to 2G'],
    ['cow-block-size=lots', 'cow: cow-block-size=lots: expected a size such as'],
    ['cow-on-cache=maybe', 'cow: cow-on-cache=maybe: expected a boolean'],
    ['cow-on-read=sometimes', 'cow: cow-on-read=sometimes: expected true, false or an absolute /PATH'],
  ])('%s is refused', async (param, message) => {
    const r = await refused(param);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it('an overlay folder that cannot be written refuses the client, naming the folder', async () => {
    const server = await startServer([`--filter=${FILTER}`, 'file', base], { env: { TMPDIR: join(dir, 'no-such-folder') } });
    try {
      const r = await run('nbdinfo', [server.uri]);
      expect(r.status).not.toBe(0);
      expect(server.stderr()).toContain(`cannot create the overlay in ${join(dir, 'no-such-folder')}`);
    } finally {
      await server.stop();
    }
  });
});
