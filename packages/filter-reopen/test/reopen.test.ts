import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runOk } from '@nbdkit-ts/testing';
import { failures, FLAKY_SERIAL, scenario, type Scenario, type ScenarioOptions } from './scenario.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('filter-reopen, with the flaky test plugin', () => {
  const running: Scenario[] = [];
  const start = async (options: ScenarioOptions) => {
    const s = await scenario(options);
    running.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  it('three failing reads: four opens, waits growing 100+200+400 ms, and nbdcopy gets the data intact', async () => {
    const s = await start({ disk: 64 * 1024, control: { 'fail-pread': failures(3) }, params: ['retry-delay=100ms'] });
    const out = join(s.dir, 'copy.img');
    const t0 = Date.now();
    await runOk('nbdcopy', [s.server.uri, out]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    expect(sha(readFileSync(out))).toBe(sha(s.data));
    expect(s.opens()).toBe(4);
    expect(s.events().filter((e) => e.startsWith('pread'))).toEqual([
      'pread 1 failed EIO',
      'pread 2 failed EIO',
      'pread 3 failed EIO',
      'pread 4 0 65536',
    ]);
    const log = s.server.stderr();
    expect(log).toContain('reopen[1]: debug: pread failed on context 1: EIO: pread failed on command; retry 1 of 5');
    expect(log).toContain('reopen[1]: debug: reopen after 100ms: pread failed on context 1 (EIO: pread failed on command)');
    expect(log).toContain('reopen[1]: debug: reopen after 200ms: pread failed on context 2');
    expect(log).toContain('reopen[1]: debug: reopen after 400ms: pread failed on context 3');
    expect(log).toContain('reopen[1]: debug: reopen: context 4 is open (size 65536)');
  });

  it('a read that fails part way is read again whole', async () => {
    const s = await start({ disk: 4096, control: { 'fail-pread': 'partial' }, params: ['retry-delay=.05'] });
    await s.sh(`assert h.pread(4096, 0) == open(disk, "rb").read()`);
    expect(s.opens()).toBe(2);
  });

  it('retry-exponential=no keeps the delay', async () => {
    const s = await start({ disk: 4096, control: { 'fail-pread': failures(3) }, params: ['retry-delay=0.1', 'retry-exponential=no'] });
    const t0 = Date.now();
    await s.sh(`assert h.pread(512, 0) == open(disk, "rb").read(512)`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(s.server.stderr().match(/reopen after 100ms/g)).toHaveLength(3);
    expect(s.server.stderr()).not.toContain('reopen after 200ms');
  });

  it('parallel requests on one connection: requests keep flowing during a reopen, failed ones are retried on the new context, one reopen in all', async () => {
    const chunk = 32 * 1024;
    const s = await start({
      disk: 64 * chunk,
      control: { 'fail-pread': failures(8), 'delay-pread': '50' },
      params: ['retry-delay=1s'],
    });
    const { stdout } = await s.sh(`
data = open(disk, "rb").read()
chunk = ${chunk}
status = {}
def start(first, n):
    bufs = {}
    for i in range(first, first + n):
        def done(err, i=i):
            status[i] = err.value
            return 1
        bufs[i] = nbd.Buffer(chunk)
        h.aio_pread(bufs[i], i * chunk, completion=done)
    return bufs
def wait(cond):
    while not cond():
        h.poll(-1)
first = start(0, 32)
# 24 succeed on context 1; 8 fail on it and wait for the reopen (1 s away).
wait(lambda: len(status) >= 24)
# Meanwhile context 1 is still there: new requests are answered at once.
second = start(32, 16)
wait(lambda: all(i in status for i in second))
pending = sum(1 for i in first if i not in status)
wait(lambda: h.aio_in_flight() == 0)
for bufs in (first, second):
    for i, b in bufs.items():
        assert status[i] == 0, (i, status[i])
        assert b.to_bytearray() == data[i * chunk:(i + 1) * chunk], i
print(pending)
`);
    expect(Number(stdout.trim())).toBe(8);
    const events = s.events();
    expect(s.opens()).toBe(2);
    expect(events.filter((e) => /^pread 1 failed EIO$/.test(e))).toHaveLength(8);
    expect(events.filter((e) => /^pread 1 \d+ \d+$/.test(e))).toHaveLength(40);
    expect(events.filter((e) => /^pread 2 \d+ \d+$/.test(e))).toHaveLength(8);
    // Make-before-break: the new context is open before the old one closes.
    expect(events.indexOf('open 2 rw')).toBeLessThan(events.indexOf('close 1'));
    expect(s.server.stderr().match(/retry 1 of 5/g)).toHaveLength(8);
  });

  it('under serialize-connections the old context is closed before the new one opens', async () => {
    const s = await start({ disk: 4096, plugin: FLAKY_SERIAL, control: { 'fail-pread': failures(1) }, params: ['retry-delay=10ms'] });
    await s.sh(`assert h.pread(512, 0) == open(disk, "rb").read(512)`);
    const events = s.events();
    expect(events.slice(0, 4)).toEqual(['open 1 rw', 'pread 1 failed EIO', 'close 1', 'open 2 rw']);
  });

  it('retry-readonly: after the first reopen writes fail with EROFS at once, reads go on', async () => {
    const s = await start({ disk: 4096, control: { 'fail-pwrite': failures(3) }, params: ['retry-delay=100ms', 'retry-readonly=yes'] });
    const t0 = Date.now();
    await s.sh(`
expect_error(errno.EPERM, h.pwrite, bytes(512), 0)
expect_error(errno.EPERM, h.pwrite, bytes(512), 0)
expect_error(errno.EPERM, h.zero, 512, 0)
expect_error(errno.EPERM, h.trim, 512, 0)
assert h.pread(512, 0) == open(disk, "rb").read(512)
assert not h.is_read_only()
`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    expect(s.opens()).toBe(2);
    const events = s.events();
    expect(events).toContain('open 2 ro');
    expect(events.filter((e) => /^(pwrite|zero|trim)/.test(e))).toEqual(['pwrite 1 failed EIO']);
  });

  it('a reopen that fails is tried again while retries are left: retries=5 gets through (four opens); retries=1 fails with the open\'s error', async () => {
    const control = { 'open-2.json': '{"fail": "EIO"}', 'fail-pread': failures(2) };
    const five = await start({ disk: 4096, control, params: ['retry-delay=100ms', 'retries=5'] });
    const t0 = Date.now();
    await five.sh(`
assert h.pread(512, 0) == open(disk, "rb").read(512)
assert h.pread(512, 0) == open(disk, "rb").read(512)
`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    expect(five.opens()).toBe(4);
    expect(five.server.stderr()).toContain('reopen: opening context 2 failed: EIO: open 2 failed on command; context 1 stays');
    expect(five.server.stderr()).toContain('reopen failed: EIO: open 2 failed on command; retry 2 of 5');

    const one = await start({ disk: 4096, control: { ...control, 'fail-pread': failures(1, 'ECONNRESET') }, params: ['retry-delay=100ms', 'retries=1'] });
    await one.sh(`
expect_error(errno.EIO, h.pread, 512, 0)
assert h.pread(512, 0) == open(disk, "rb").read(512)
`);
    // The second read ran on context 1, which the failed reopen left in place.
    expect(one.events().filter((e) => /^(open|close|pread)/.test(e)).slice(0, 4)).toEqual(['open 1 rw', 'pread 1 failed ECONNRESET', 'open 2 failed EIO', 'pread 1 0 512']);
  });

  it('a failed reopen keeps the old context associated, and the request fails with the open\'s error', async () => {
    const s = await start({
      disk: 4096,
      control: { 'open-2.json': '{"fail": "ENOSPC"}', 'open-3.json': '{"fail": "ENOSPC"}', 'fail-pread': failures(1, 'ECONNRESET') },
      params: ['retry-delay=10ms', 'retries=2', 'retry-exponential=no'],
    });
    await s.sh(`
expect_error(errno.ENOSPC, h.pread, 512, 0)
assert h.pread(512, 0) == open(disk, "rb").read(512)
`);
    expect(s.events().filter((e) => /^(open|close|pread)/.test(e)).slice(0, 5)).toEqual([
      'open 1 rw',
      'pread 1 failed ECONNRESET',
      'open 2 failed ENOSPC',
      'open 3 failed ENOSPC',
      'pread 1 0 512',
    ]);
    expect(s.server.stderr()).not.toContain('no context');
  });

  it('closing the replaced context fails: the request that caused the reopen fails with that error, which is logged', async () => {
    const s = await start({
      disk: 4096,
      control: { 'open-1.json': '{"failClose": "ENOSPC"}', 'fail-pread': failures(1) },
      params: ['retry-delay=10ms'],
    });
    await s.sh(`
expect_error(errno.ENOSPC, h.pread, 512, 0)
assert h.pread(512, 0) == open(disk, "rb").read(512)
`);
    expect(s.events().filter((e) => /^(open|close|pread)/.test(e)).slice(0, 5)).toEqual(['open 1 rw', 'pread 1 failed EIO', 'open 2 rw', 'close 1 failed ENOSPC', 'pread 2 0 512']);
    expect(s.server.stderr()).toContain('reopen[1]: error: closing context 1: ENOSPC: close 1 failed on command');
  });

  it('the size shrinking on reopen: no call past the new end reaches the plugin; another reopen brings it back', async () => {
    const s = await start({ disk: 1024, control: { 'open-2.json': '{"size": 512}', 'fail-pread': failures(1) }, params: ['retry-delay=100ms'] });
    const t0 = Date.now();
    await s.sh(`
assert h.pread(512, 0) == open(disk, "rb").read(512)
h.cache(512, 512)
`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    expect(s.opens()).toBe(3);
    expect(s.events().filter((e) => /^(pread|cache)/.test(e))).toEqual(['pread 1 failed EIO', 'pread 2 0 512', 'cache 3 512 512']);
  });

  it('a size that stays small: EIO for reads, ENOSPC for writes past the new end; the client keeps the size it saw', async () => {
    const control: Record<string, string> = { 'fail-pread': failures(1) };
    for (let n = 2; n <= 4; n++) control[`open-${n}.json`] = '{"size": 512}';
    const s = await start({ disk: 1024, control, params: ['retry-delay=10ms', 'retries=1'] });
    await s.sh(`
assert h.pread(512, 0) == open(disk, "rb").read(512)
expect_error(errno.EIO, h.pread, 512, 512)
expect_error(errno.ENOSPC, h.pwrite, bytes(512), 512)
assert h.get_size() == 1024
`);
    expect(s.opens()).toBe(4);
    expect(s.events().filter((e) => / 512 512$/.test(e))).toEqual([]);
  });

  it('FUA and fast zero lost after reopen (four opens, ENOTSUP at once for FAST_ZERO)', async () => {
    const s = await start({
      disk: 512,
      control: {
        'fail-zero': failures(1),
        'open-2.json': '{"canFua": "none"}',
        'open-3.json': '{"canFua": "none", "canFastZero": false}',
        'open-4.json': '{"canFastZero": false}',
      },
      params: ['retry-delay=100ms'],
    });
    const t0 = Date.now();
    await s.sh(`
h.zero(512, 0)
expect_error(errno.ENOTSUP, h.zero, 512, 0, nbd.CMD_FLAG_FUA | nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FAST_ZERO)
h.zero(512, 0, nbd.CMD_FLAG_FUA)
`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(s.opens()).toBe(4);
    expect(s.events().filter((e) => e.startsWith('zero'))).toEqual(['zero 1 failed EIO', 'zero 2 0 512', 'zero 4 0 512']);
  });

  it('a fast zero the plugin refuses with ENOTSUP is answered at once, never retried', async () => {
    const s = await start({ disk: 512, control: { 'fail-zero': failures(1, 'ENOTSUP') }, params: ['retry-delay=10ms'] });
    await s.sh(`expect_error(errno.ENOTSUP, h.zero, 512, 0, nbd.CMD_FLAG_FAST_ZERO)`);
    expect(s.opens()).toBe(1);
  });

  it('capabilities gone after reopen: EROFS for trim and zero, EIO for FUA, flush, extents and cache', async () => {
    const control: Record<string, string> = { 'fail-pread': failures(1) };
    const gone = { canFua: 'none', canTrim: false, canZero: 'none', canFlush: false, canExtents: false, canCache: 'none' };
    for (let n = 2; n <= 8; n++) control[`open-${n}.json`] = JSON.stringify(gone);
    const s = await start({ disk: 4096, control, params: ['retry-delay=10ms', 'retries=1'] });
    await s.sh(
      `
assert h.pread(512, 0) == open(disk, "rb").read(512)
expect_error(errno.EIO, h.pwrite, bytes(512), 0, nbd.CMD_FLAG_FUA)
expect_error(errno.EPERM, h.trim, 512, 0)
expect_error(errno.EPERM, h.zero, 512, 0)
expect_error(errno.EIO, h.flush)
expect_error(errno.EIO, h.block_status, 512, 0, lambda *a: 0)
expect_error(errno.EIO, h.cache, 512, 0)
h.pwrite(b"x" * 512, 0)
`,
      { baseAllocation: true },
    );
    // One reopen for the first read, then one per refused request (retries=1).
    expect(s.opens()).toBe(8);
    expect(s.events().filter((e) => /^(trim|zero|flush|extents|cache)/.test(e))).toEqual([]);
    expect(readFileSync(s.disk).subarray(0, 512)).toEqual(Buffer.alloc(512, 'x'));
  });

  it('extents failing in three ways, then succeeding: four opens, no stray extents', async () => {
    const disk = Buffer.concat([Buffer.alloc(512, 1), Buffer.alloc(512)]);
    const s = await start({ disk, control: { 'fail-extents': 'EIO\ngarbage\npartial' }, params: ['retry-delay=100ms'] });
    const t0 = Date.now();
    await s.sh(
      `
entries = []
def f(metacontext, offset, e, err):
    global entries
    assert err.value == 0
    entries = list(e)
h.block_status(1024, 0, f)
assert entries == [512, 0, 512, 3], entries
`,
      { baseAllocation: true },
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    expect(s.opens()).toBe(4);
    expect(s.server.stderr()).toMatch(/extents failed on context 2: EINVAL: first extent starts at 1/);
  });

  it('retry-errors: only the codes listed are retried', async () => {
    const s = await start({ disk: 4096, control: { 'fail-pread': 'EIO\nESHUTDOWN\nETIMEDOUT' }, params: ['retry-delay=10ms', 'retry-errors=eshutdown, ETIMEDOUT'] });
    await s.sh(`
expect_error(errno.EIO, h.pread, 512, 0)
assert h.pread(512, 0) == open(disk, "rb").read(512)
`);
    expect(s.opens()).toBe(3);
    expect(s.events().filter((e) => e.startsWith('pread'))).toEqual(['pread 1 failed EIO', 'pread 1 failed ESHUTDOWN', 'pread 2 failed ETIMEDOUT', 'pread 3 0 512']);
  });

  it('a failed first open is retried; with retry-errors not listing its code, or retries=0, it is not', async () => {
    const control = { 'open-1.json': '{"fail": "EIO"}' };
    const retried = await start({ disk: 4096, control, params: ['retry-delay=100ms'] });
    const t0 = Date.now();
    await retried.sh(`assert h.pread(512, 0) == open(disk, "rb").read(512)`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    expect(retried.events().slice(0, 2)).toEqual(['open 1 failed EIO', 'open 2 rw']);
    expect(retried.server.stderr()).toContain('reopen[1]: debug: open failed: EIO: open 1 failed on command; retry 1 of 5 after 100ms');

    for (const params of [['retry-errors=ESHUTDOWN'], ['retries=0']]) {
      const refused = await start({ disk: 4096, control, params });
      await expect(refused.sh('pass')).rejects.toThrow();
      expect(refused.opens()).toBe(1);
    }
  });

  it('retries=0: the filter passes calls through and never reopens', async () => {
    const s = await start({ disk: 4096, control: { 'fail-pread': failures(1) }, params: ['retries=0'] });
    await s.sh(`
expect_error(errno.EIO, h.pread, 512, 0)
assert h.pread(512, 0) == open(disk, "rb").read(512)
`);
    expect(s.opens()).toBe(1);
    expect(s.server.stderr()).not.toContain('retry');
  });
});
