import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_PATH } from '@nbdkit-ts/testing';
import { failures, scenario, until, type Scenario } from './scenario.js';

describe('filter-reopen: delays end with the connection', () => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });

  it('a server shutting down cuts a delay short (retry-delay is an hour)', async () => {
    s = await scenario({ disk: 4096, control: { 'fail-pread': failures(1) }, params: ['retry-delay=3600'] });
    // Settled at once, so that its failure is not an unhandled rejection while the test waits.
    const client = s.sh('h.pread(512, 0)').then(
      () => 'answered',
      (e: unknown) => String(e),
    );
    const server = s.server;
    await until(() => server.stderr().includes('reopen after 3600s'));
    expect(await server.stop()).toBe(0);
    // The request in flight is answered with the error that started the wait.
    expect(await client).toContain('nbd_pread: read: command failed: Input/output error');
    expect(s.opens()).toBe(1);
    // The last of stderr may be read after the exit is seen.
    await until(() => server.stderr().includes('reopen abandoned: the connection is closing'));
  });

  it('a client going away cuts a delay short; the server serves the next one', async () => {
    s = await scenario({ disk: 4096, control: { 'fail-pread': failures(1) }, params: ['retry-delay=3600'] });
    const client = spawn('nbdsh', ['-u', s.server.uri, '-c', 'h.pread(512, 0)'], { env: { ...process.env, PATH: TEST_PATH }, stdio: 'ignore' });
    const gone = new Promise((resolve) => client.on('exit', resolve));
    const server = s.server;
    await until(() => server.stderr().includes('reopen after 3600s'));
    client.kill('SIGKILL');
    await gone;
    // Logged once the connection has closed its contexts.
    await until(() => /connection \d+: closed/.test(server.stderr()));
    expect(server.stderr()).toContain('reopen abandoned: the connection is closing');
    expect(s.events()).toContain('close 1');
    await s.sh(`assert h.pread(512, 0) == open(disk, "rb").read(512)`);
    expect(s.opens()).toBe(2);
  });

  it('a reopen that finishes after its client left (--request-timeout): the new context is closed at once, nothing is open at shutdown', async () => {
    s = await scenario({
      disk: 4096,
      control: { 'fail-pread': failures(1), 'open-2.json': '{"delay": 1500}' },
      params: ['retry-delay=10ms', '--request-timeout=1'],
    });
    await s.sh('expect_error(errno.EIO, h.pread, 512, 0)');
    const server = s.server;
    await until(() => s?.events().includes('close 2') === true);
    expect(s.events().filter((e) => /^(open|close)/.test(e))).toEqual(['open 1 rw', 'close 1', 'open 2 rw', 'close 2']);
    expect(server.stderr()).toContain('cannot open a context: connection 1 has ended');
    expect(await server.stop()).toBe(0);
    expect(server.stderr()).not.toContain('still open');
  });
});
