import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, run, runOk, startServer, type ServerProcess } from '@nbdkit-ts/testing';
import { startCeph, type Ceph } from './ceph.js';

const MiB = 1024 * 1024;
const chunkName = (key: string, index: number) => `${key}/${index.toString(16).padStart(16, '0')}`;

/** A Python expression for `n` bytes of a pattern that differs at every offset. */
const pattern = (n: number, seed: number) => `bytes((i * 7 + ${seed}) % 256 for i in range(${n}))`;

describe('plugin-s3 when servers and the store fail', () => {
  let ceph: Ceph;
  const servers: ServerProcess[] = [];

  async function serve(key: string, ...extra: string[]): Promise<ServerProcess> {
    const s = await startServer(['s3', `endpoint=${ceph.endpoint}`, 'bucket=disks', `key=${key}`, `access-key=${ceph.accessKey}`, `secret-key=${ceph.secretKey}`, ...extra]);
    servers.push(s);
    return s;
  }

  beforeAll(async () => {
    ceph = await startCeph();
    await ceph.createBucket('disks');
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.stop();
    // Undefined when beforeAll failed to start it.
    await (ceph as Ceph | undefined)?.stop();
  });

  it('a restarted server opens the disk without parameters and finds its data', async () => {
    const first = await serve('restart', 'size=16M', 'object-size=1M');
    await nbdsh(first.uri, `h.pwrite(${pattern(3 * MiB, 1)}, 2 * 1024 * 1024 + 512 * 1024)`);
    expect(await first.stop()).toBe(0);
    const again = await serve('restart');
    const { stdout } = await runOk('nbdinfo', ['--size', again.uri]);
    expect(stdout.trim()).toBe(String(16 * MiB));
    await nbdsh(
      again.uri,
      `
MiB = 1024 * 1024
assert h.pread(3 * MiB, 2 * MiB + 512 * 1024) == ${pattern(3 * MiB, 1)}
assert h.pread(2 * MiB + 512 * 1024, 0) == bytes(2 * MiB + 512 * 1024)
`,
    );
    expect(await ceph.keys('disks', 'restart/')).toEqual([2, 3, 4, 5].map((c) => chunkName('restart', c)).concat('restart/metadata.json'));
  });

  it('writes acknowledged with FUA are in the store when the server is killed with SIGKILL', async () => {
    const s = await serve('killed', 'size=4M', 'object-size=1M');
    await nbdsh(
      s.uri,
      `
import os, signal
MiB = 1024 * 1024
h.pwrite(${pattern(MiB, 2)}, MiB, nbd.CMD_FLAG_FUA)
h.pwrite(b'partial' * 1000, 3 * MiB + 100, nbd.CMD_FLAG_FUA)
os.kill(${s.child.pid}, signal.SIGKILL)
`,
    );
    expect(await s.stop()).toBe(128);
    const whole = await ceph.object('disks', chunkName('killed', 1));
    const partial = await ceph.object('disks', chunkName('killed', 3));
    const expected = Buffer.alloc(MiB);
    for (let i = 0; i < MiB; i++) expected[i] = (i * 7 + 2) % 256;
    expect(whole.equals(expected)).toBe(true);
    expect(partial.length).toBe(MiB);
    expect(partial.subarray(100, 7100).toString()).toBe('partial'.repeat(1000));
    expect(partial.subarray(0, 100).equals(Buffer.alloc(100))).toBe(true);
  });

  it('with the store stopped requests fail with a clear error, and work again when it is back', async () => {
    const s = await serve('outage', 'size=2M', 'object-size=1M', 'max-attempts=2', '-v');
    await nbdsh(s.uri, `h.pwrite(b'\\x42' * 4096, 0)`);
    await ceph.stopGateway();
    try {
      await nbdsh(
        s.uri,
        `
for call in (lambda: h.pread(4096, 0), lambda: h.pwrite(b'x' * 1024 * 1024, 1024 * 1024)):
    try:
        call()
        raise AssertionError('a request succeeded with the store stopped')
    except nbd.Error as e:
        assert e.errno == 'EIO', e
`,
      );
    } finally {
      await ceph.startGateway();
    }
    expect(s.stderr()).toMatch(new RegExp(`GET s3://disks/outage/0000000000000000: cannot reach http://127\\.0\\.0\\.1:${ceph.port}: ECONNREFUSED \\(after 2 attempts\\)`));
    expect(s.stderr()).toMatch(new RegExp(`PUT s3://disks/outage/0000000000000001: cannot reach http://127\\.0\\.0\\.1:${ceph.port}: ECONNREFUSED`));
    await nbdsh(s.uri, `assert h.pread(4096, 0) == b'\\x42' * 4096\nassert h.pread(4096, 1024 * 1024) == bytes(4096)`);
  });

  it('behind --filter=reopen a client rides out the store being stopped and started again', async () => {
    const s = await startServer([
      '--filter=reopen',
      's3',
      `endpoint=${ceph.endpoint}`,
      'bucket=disks',
      'key=reopen',
      'size=2M',
      'object-size=1M',
      `access-key=${ceph.accessKey}`,
      `secret-key=${ceph.secretKey}`,
      'max-attempts=1',
      'retries=40',
      'retry-delay=0.25',
      'retry-exponential=no',
    ]);
    servers.push(s);
    await nbdsh(s.uri, `h.pwrite(b'\\x17' * 4096, 0)`);
    await ceph.stopGateway();
    const started = Date.now();
    const client = run('nbdsh', [
      '-u',
      s.uri,
      '-c',
      `
assert h.pread(4096, 0) == b'\\x17' * 4096
h.pwrite(b'\\x18' * 4096, 1024 * 1024 + 4096, nbd.CMD_FLAG_FUA)
assert h.pread(4096, 1024 * 1024 + 4096) == b'\\x18' * 4096
`,
    ]);
    await new Promise((r) => setTimeout(r, 2000));
    await ceph.startGateway();
    const r = await client;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect((await ceph.object('disks', chunkName('reopen', 1))).subarray(4096, 8192).equals(Buffer.alloc(4096, 0x18))).toBe(true);
  });

  it('throttling by the store (503 SlowDown) is retried with back-off until the writes succeed', async () => {
    await ceph.setGatewayOption('rgw_max_concurrent_requests', '2');
    const s = await serve('throttled', 'size=32M', 'object-size=1M', 'connections=8', 'max-attempts=20');
    await nbdsh(
      s.uri,
      `
MiB = 1024 * 1024
cookies = []
for i in range(32):
    b = nbd.Buffer.from_bytearray(bytearray([i + 1]) * MiB)
    cookies.append((h.aio_pwrite(b, i * MiB), b))
while h.aio_in_flight() > 0:
    h.poll(-1)
for c, _ in cookies:
    assert h.aio_command_completed(c)
for i in range(32):
    assert h.pread(MiB, i * MiB) == bytes([i + 1]) * MiB, i
`,
    );
    const refused = ceph.gatewayLog().split('\n').filter((l) => /"PUT \/disks\/throttled\/[0-9a-f]{16}(\?\S*)? HTTP\/1\.1" 503 /.test(l));
    expect(refused.length).toBeGreaterThan(0);
  });
});
