import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, fioVerify, nbdsh, NBDSH_EXPECT_ERROR, run, runOk, type ServerProcess, startServer, tempDir, withServer } from '@nbdkit-ts/testing';

let dir: string;
let disk: string;

beforeAll(() => {
  dir = tempDir();
  disk = join(dir, 'disk.img');
  writeFileSync(disk, randomBytes(8 << 20));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The server with this test's stack in front of `params`. */
function withStack<T>(params: readonly string[], body: (server: ServerProcess) => Promise<T>): Promise<T> {
  return withServer(['--filter=delay', 'file', disk, ...params], body);
}

/** Runs `script` under nbdsh and returns the milliseconds it printed. */
async function timed(uri: string, script: string): Promise<number> {
  const { stdout } = await nbdsh(uri, `import time\nt0 = time.monotonic()\n${script}\nprint((time.monotonic() - t0) * 1000)`);
  return Number(stdout.trim().split('\n').at(-1));
}

describe('delays', () => {
  it.each([
    ['rdelay=300ms', 'h.pread(4096, 0)'],
    ['delay-read=0.3', 'h.pread(4096, 0)'],
    ['delay-read=300000us', 'h.pread(4096, 0)'],
    ['wdelay=300ms', 'h.pwrite(b"x" * 512, 0)'],
    ['wdelay=300ms', 'h.zero(512, 0)'],
    ['wdelay=300ms', 'h.trim(512, 0)'],
    ['delay-write=300ms', 'h.pwrite(b"x" * 512, 0)'],
    ['delay-zero=300ms', 'h.zero(512, 0)'],
    ['delay-trim=300ms', 'h.trim(512, 0)'],
    ['delay-cache=300ms', 'h.cache(4096, 0)'],
  ])('%s delays %s', async (param, call) => {
    await withStack([param], async (s) => expect(await timed(s.uri, call)).toBeGreaterThanOrEqual(300));
  });

  it('delay-extents delays block status', async () => {
    await withStack(['delay-extents=300ms'], async (s) => {
      const { stdout } = await runOk('nbdsh', ['--base-allocation', '-u', s.uri, '-c', 'import time\nt0 = time.monotonic()\nh.block_status(4096, 0, lambda *a: 0)\nprint((time.monotonic() - t0) * 1000)']);
      expect(Number(stdout.trim())).toBeGreaterThanOrEqual(300);
    });
  });

  it('delay-open delays the connection', async () => {
    await withStack(['delay-open=300ms'], async (s) => {
      const t0 = Date.now();
      await runOk('nbdinfo', ['--size', s.uri]);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    });
  });

  it('parallel requests wait their delays together', async () => {
    // Eight reads in flight at once finish in about one delay, not eight.
    await withStack(['rdelay=1'], async (s) => {
      const ms = await timed(
        s.uri,
        `
for i in range(8):
    h.aio_pread(nbd.Buffer(4096), i * 4096)
while h.aio_in_flight() > 0:
    h.poll(-1)
`,
      );
      expect(ms).toBeGreaterThanOrEqual(1000);
      expect(ms).toBeLessThan(8000);
    });
  });

  it('fio writes with crc32c verification, 16 deep', async () => {
    await withStack(['rdelay=1ms', 'wdelay=1ms'], async (s) => {
      await fioVerify(s.uri, { bs: '16k', size: '8M' });
    });
  });

  it('data passes unchanged: nbdcopy and qemu-img out, nbdcopy back in', async () => {
    await withStack(['rdelay=1ms', 'wdelay=1ms'], async (s) => {
      const out = join(dir, 'copy.img');
      await runOk('nbdcopy', [s.uri, out]);
      expect(readFileSync(out).equals(readFileSync(disk))).toBe(true);
      const qemuOut = join(dir, 'qemu.img');
      await runOk('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', s.uri, qemuOut]);
      expect(readFileSync(qemuOut).equals(readFileSync(disk))).toBe(true);
      const back = randomBytes(8 << 20);
      writeFileSync(out, back);
      await runOk('nbdcopy', [out, s.uri]);
      expect(readFileSync(disk).equals(back)).toBe(true);
    });
  });
});

describe('delay-fast-zero', () => {
  it('false: a fast zero fails at once with ENOTSUP, an ordinary zero still works', async () => {
    await withStack(['delay-zero=10', 'delay-fast-zero=false'], async (s) => {
      await nbdsh(
        s.uri,
        `${NBDSH_EXPECT_ERROR}
assert h.can_fast_zero()
expect_error("ENOTSUP", h.zero, 512, 0, nbd.CMD_FLAG_FAST_ZERO)
`,
      );
    });
  });

  it('true (the default): a fast zero is delayed and passed on', async () => {
    await withStack(['delay-zero=300ms'], async (s) => {
      const can = (await nbdsh(s.uri, 'print(h.can_fast_zero())')).stdout.trim();
      if (can === 'True') expect(await timed(s.uri, 'h.zero(512, 0, nbd.CMD_FLAG_FAST_ZERO)')).toBeGreaterThanOrEqual(300);
      else expect(can).toBe('False');
    });
  });
});

describe('ending', () => {
  it('a request waiting its delay ends when the server shuts down, and every context is closed', async () => {
    const server = await startServer(['-v', '--filter=delay', 'file', disk, 'rdelay=600']);
    const reading = run('nbdsh', ['-u', server.uri, '-c', 'h.pread(512, 0)']);
    // The request is waiting in the delay filter.
    await expect.poll(() => server.stderr(), { timeout: 20_000 }).toMatch(/delay(\[\d+\])?: debug: pread: waiting/);
    expect(await server.stop()).toBe(0);
    expect((await reading).status).not.toBe(0);
    expect(server.stderr()).not.toMatch(/not done within|contexts still open/);
    expect(server.stderr()).toContain('ESHUTDOWN: delay: pread interrupted');
    expect(server.stderr()).toContain('contexts open: delay 0, file 0');
  });

  it('delay-close ends early when the server shuts down', async () => {
    const server = await startServer(['-v', '--filter=delay', 'file', disk, 'delay-close=600']);
    // The client said goodbye and waits for the server to hang up, which it does once the close is done.
    const client = runOk('nbdinfo', ['--size', server.uri]);
    while (!server.stderr().includes('ending: ')) await new Promise((r) => setTimeout(r, 20));
    expect(await server.stop()).toBe(0);
    expect((await client).stdout.trim()).not.toBe('');
    expect(server.stderr()).not.toMatch(/not done within|contexts still open/);
  });
});

describe('parameters', () => {
  const serve = (...params: string[]) => run(process.execPath, [cliPath(), '-f', '-U', join(dir, 'never.sock'), '--filter=delay', 'file', disk, ...params]);

  it.each([
    ['delay-read=2x', 'delay: delay-read=2x: expected a delay in seconds (2, 0.5, 2s), milliseconds (500ms), microseconds (500us) or nanoseconds (500ns)'],
    ['rdelay=-1', 'delay: rdelay=-1: expected a delay in seconds'],
    ['wdelay=', 'delay: wdelay=: expected a delay in seconds'],
    ['delay-close=5m', 'delay: delay-close=5m: expected a delay in seconds'],
    ['delay-open=3000000', 'delay: delay-open=3000000: the delay must be at most 2147483.647 seconds'],
    ['delay-fast-zero=maybe', 'delay: delay-fast-zero=maybe: expected a boolean'],
  ])('%s is refused', async (param, message) => {
    const r = await serve(param);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });
});
