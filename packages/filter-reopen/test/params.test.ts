import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, run, tempDir } from '@nbdkit-ts/testing';
import { failures, scenario } from './scenario.js';

describe('filter-reopen parameters', () => {
  let dir: string;
  let disk: string;
  beforeAll(() => {
    dir = tempDir();
    disk = join(dir, 'disk.img');
    writeFileSync(disk, Buffer.alloc(4096));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const serve = (...params: string[]) =>
    run(process.execPath, [cliPath(), '-f', '-U', join(dir, 'never.sock'), '--filter=reopen', 'file', disk, ...params]);

  it.each([
    ['retries=abc', 'reopen: retries=abc: expected a whole number from 0 to 1000000'],
    ['retries=-1', 'reopen: retries=-1: expected a whole number from 0 to 1000000'],
    ['retries=1.5', 'reopen: retries=1.5: expected a whole number from 0 to 1000000'],
    ['retry-delay=0', 'reopen: retry-delay=0: the delay must be more than 0'],
    ['retry-delay=0ms', 'reopen: retry-delay=0ms: the delay must be more than 0'],
    ['retry-delay=abc', 'reopen: retry-delay=abc: expected a delay in seconds (2, 0.5, 2s), milliseconds (500ms), microseconds (500us) or nanoseconds (500ns)'],
    ['retry-delay=5m', 'reopen: retry-delay=5m: expected a delay in seconds'],
    ['retry-delay=-1', 'reopen: retry-delay=-1: expected a delay in seconds'],
    ['retry-delay=3000000', 'reopen: retry-delay=3000000: the delay must be at most 2147483.647 seconds'],
    ['retry-exponential=maybe', 'reopen: retry-exponential=maybe: expected a boolean'],
    ['retry-readonly=2', 'reopen: retry-readonly=2: expected a boolean'],
    ['retry-errors=EIO,oops', 'reopen: retry-errors=EIO,oops: "OOPS" is not an errno name (such as EIO, ENOSPC, EPERM or ESHUTDOWN)'],
    ['retry-errors=', 'reopen: retry-errors=: "" is not an errno name'],
    ['retry-errors=EIO,,ESHUTDOWN', 'reopen: retry-errors=EIO,,ESHUTDOWN: "" is not an errno name'],
  ])('%s is refused', async (param, message) => {
    const r = await serve(param);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it('--help lists every parameter', async () => {
    const { stdout } = await run(process.execPath, [cliPath(), '--filter=reopen', 'file', '--help']);
    for (const key of ['retries', 'retry-delay', 'retry-exponential', 'retry-readonly', 'retry-errors']) expect(stdout).toContain(key);
  });

  it.each(['retry-delay=0.25', 'retry-delay=.25', 'retry-delay=250ms', 'retry-delay=0.25s'])('%s waits 250 ms', async (param) => {
    const s = await scenario({ disk: 4096, control: { 'fail-pread': failures(1) }, params: [param, 'retry-errors=all'] });
    try {
      const t0 = Date.now();
      await s.sh('h.pread(512, 0)');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(s.server.stderr()).toContain('reopen after 250ms');
    } finally {
      await s.stop();
    }
  });
});
