import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, nbdsh, run, runOk, tempDir, withServer } from '@nbdkit-ts/testing';

const here = dirname(fileURLToPath(import.meta.url));
const WRITEBACK = join(here, 'writeback-plugin.js');
const COUNT_FLUSHES = join(here, 'count-flushes-filter.js');
const SERIALIZE_CONNECTIONS = join(here, 'serialize-connections-filter.js');

/** Python: `c` is a list of `n` connections to nbdsh's URI, `c[0]` being nbdsh's own `h`. */
function connections(n: number): string {
  return `
import nbd
c = [h]
for _ in range(${n - 1}):
    x = nbd.NBD()
    x.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
    x.connect_uri(h.get_uri())
    c.append(x)
`;
}

/** Runs a script under nbdsh and returns the lines it printed. */
async function printed(uri: string, script: string): Promise<string[]> {
  const { stdout } = await nbdsh(uri, script);
  return stdout.trim().split('\n');
}

/** The events the writeback plugin logged, as [event, export, id]. */
function events(file: string): string[][] {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t')) : [];
}

let dir: string;
let image: string;

beforeAll(() => {
  dir = tempDir();
  image = join(dir, 'disk.img');
  writeFileSync(image, randomBytes(1 << 20));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a plugin with a private cache per connection', () => {
  // Three cases, each on its own 4 KiB block: a write on c0 then a flush on
  // c1 read on c2; a read that filled c2's cache, then a write and flush on
  // c0; the same with a FUA write on c0 instead of write and flush.
  const script = `${connections(3)}
NEW = b'\\x5a' * 512
print(c[0].can_multi_conn())
c[0].pwrite(NEW, 0)
c[1].flush()
print(c[2].pread(512, 0) == NEW)
c[2].pread(512, 4096)
c[0].pwrite(NEW, 4096)
c[0].flush()
print(c[2].pread(512, 4096) == NEW)
c[2].pread(512, 8192)
c[0].pwrite(NEW, 8192, nbd.CMD_FLAG_FUA)
print(c[2].pread(512, 8192) == NEW)
`;
  const fixed = ['True', 'True', 'True', 'True'];
  const stale = ['False', 'False', 'False', 'False'];

  it.each([
    ['without the filter', [], [], stale],
    ['auto (emulate: the plugin has no multi-conn)', ['--filter=multi-conn'], [], fixed],
    ['emulate, track connection', ['--filter=multi-conn'], ['multi-conn-mode=emulate', 'multi-conn-track-dirty=conn'], fixed],
    ['emulate, track fast', ['--filter=multi-conn'], ['multi-conn-mode=emulate', 'multi-conn-track-dirty=fast'], fixed],
    ['emulate, track off', ['--filter=multi-conn'], ['multi-conn-mode=emulate', 'multi-conn-track-dirty=off'], fixed],
    ['plugin', ['--filter=multi-conn'], ['multi-conn-mode=plugin'], stale],
    ['disable', ['--filter=multi-conn'], ['multi-conn-mode=disable'], stale],
    ['unsafe (advertised, not done)', ['--filter=multi-conn'], ['multi-conn-mode=unsafe'], ['True', 'False', 'False', 'False']],
  ])('%s', async (_name, filters, params, expected) => {
    const lines = await withServer([...filters, WRITEBACK, ...params], (s) => printed(s.uri, script));
    expect(lines).toEqual(expected);
  });

  it('emulate advertises FUA as well as multi-conn', async () => {
    const { stdout } = await withServer(['--filter=multi-conn', WRITEBACK], (s) => runOk('nbdinfo', ['--json', s.uri]));
    const info = (JSON.parse(stdout) as { exports: Record<string, unknown>[] }).exports[0];
    expect(info).toMatchObject({ can_multi_conn: true, can_flush: true, can_fua: true });
  });

  it('writes left unflushed by a connection that closed are covered by the next flush', async () => {
    // The plugin drops what a connection did not flush when it closes; the
    // filter flushes a closing context that still holds writes.
    const lines = await withServer(['--filter=multi-conn', WRITEBACK], (s) =>
      printed(
        s.uri,
        `${connections(1)}
NEW = b'\\xa5' * 512
x = nbd.NBD()
x.connect_uri(h.get_uri())
x.pwrite(NEW, 0)
x.shutdown()
del x
h.flush()
y = nbd.NBD()
y.connect_uri(h.get_uri())
print(y.pread(512, 0) == NEW)
`,
      ),
    );
    expect(lines).toEqual(['True']);
  });

  it("a flush fanning out waits for the other connection's request (the plugin serializes requests)", async () => {
    // The plugin fails any call that overlaps another on its connection: the
    // flushes c0 sends to c1's context must wait for c1's own writes and
    // block status queries.
    const lines = await withServer(['--filter=multi-conn', WRITEBACK, 'multi-conn-track-dirty=off'], (s) =>
      printed(
        s.uri,
        `${connections(2)}
cookies = []
for i in range(64):
    cookies.append(c[1].aio_pwrite(bytes([i]) * 4096, i * 4096))
    cookies.append(c[1].aio_block_status(65536, 0, lambda *args: 0))
for _ in range(32):
    c[0].flush()
while c[1].aio_in_flight() > 0:
    c[1].poll(-1)
for ck in cookies:
    c[1].aio_command_completed(ck)
c[1].flush()
print(all(c[0].pread(4096, i * 4096) == bytes([i]) * 4096 for i in range(64)))
`,
      ),
    );
    expect(lines).toEqual(['True']);
  });

  it('a flush fanning out never touches a connection that is closing', async () => {
    // The plugin fails a call on a context closed before or during the call.
    const lines = await withServer(['--filter=multi-conn', WRITEBACK, 'multi-conn-track-dirty=off'], (s) =>
      printed(
        s.uri,
        `${connections(1)}
cookies = []
for i in range(64):
    x = nbd.NBD()
    x.connect_uri(h.get_uri())
    x.pwrite(bytes([i + 1]) * 512, 0)
    cookies.append(h.aio_flush())
    cookies.append(h.aio_flush())
    x.shutdown()
    del x
while h.aio_in_flight() > 0:
    h.poll(-1)
print(all(h.aio_command_completed(ck) for ck in cookies))
`,
      ),
    );
    expect(lines).toEqual(['True']);
  });

  it("an error from any context's flush fails the client's flush, and the next flush tries again", async () => {
    const log = join(dir, 'fail-flush.events');
    rmSync(log, { force: true });
    const lines = await withServer(['--filter=multi-conn', WRITEBACK, 'fail-flush=bad', `events=${log}`], (s) =>
      printed(
        s.uri,
        `${connections(1)}
bad = nbd.NBD()
bad.connect_uri(${JSON.stringify(s.uriFor('bad'))})
bad.pwrite(b'x' * 512, 0)
for _ in range(2):
    try:
        h.flush()
        print('flushed')
    except nbd.Error as e:
        print(e.errno)
`,
      ),
    );
    expect(lines).toEqual(['EIO', 'EIO']);
    // Two flushes of the failing context for the client's two flushes, and
    // a third when it closes still holding its write.
    expect(events(log).filter(([, name]) => name === 'bad').map(([e]) => e)).toEqual(['open', 'flush', 'flush', 'flush', 'close']);
  });
});

describe('flushes that reach the plugin, compared with nbdkit', () => {
  // Three connections: flush on c0; write on c1; flush on c2; FUA write on c0.
  const SEQUENCE = `${connections(3)}
c[0].flush()
c[1].pwrite(b'w' * 512, 0)
c[2].flush()
c[0].pwrite(b'f' * 512, 512, nbd.CMD_FLAG_FUA)
`;
  // nbdkit 1.32: --filter=multi-conn --filter=stats file disk.img.
  const NBDKIT_132: Record<string, Record<string, number>> = {
    emulate: { off: 9, connection: 2, fast: 6 },
    plugin: { off: 2, connection: 1, fast: 1 },
    // The file plugin offers multi-conn: auto is plugin.
    auto: { off: 2, connection: 1, fast: 1 },
  };

  const cases = Object.entries(NBDKIT_132).flatMap(([mode, byTrack]) => Object.entries(byTrack).map(([track, n]) => [mode, track, n] as const));

  it.each(cases)('mode %s, track %s: %i flushes', async (mode, track, expected) => {
    const params = [`multi-conn-mode=${mode}`, `multi-conn-track-dirty=${track}`];
    const counted = join(dir, `count-${mode}-${track}`);
    rmSync(counted, { force: true });
    await withServer(['--filter=multi-conn', `--filter=${COUNT_FLUSHES}`, 'file', image, `count-flushes-file=${counted}`, ...params], (s) =>
      nbdsh(s.uri, SEQUENCE),
    );
    const ours = existsSync(counted) ? readFileSync(counted, 'utf8').split('\n').filter((l) => l === 'flush').length : 0;

    const stats = join(dir, `stats-${mode}-${track}`);
    await runOk(
      'nbdkit',
      ['-U', '-', '--filter=multi-conn', '--filter=stats', 'file', image, `statsfile=${stats}`, ...params, '--run', 'nbdsh -u "$uri" -c "$SEQUENCE"'],
      { env: { SEQUENCE } },
    );
    const m = /^flush: (\d+) ops/m.exec(readFileSync(stats, 'utf8'));
    const reference = m === null ? 0 : Number(m[1]);

    expect(reference).toBe(expected);
    expect(ours).toBe(reference);
  });
});

describe('groups per export name', () => {
  // a1 writes; b1 flushes; a2 reads; then a1 flushes and a2 reads again.
  it.each([
    ['false', ['True', 'True'], { a: 4, b: 2 }],
    ['true', ['False', 'True'], { a: 2, b: 1 }],
  ])('multi-conn-exportname=%s', async (byName, expected, flushes) => {
    const log = join(dir, `exportname-${byName}.events`);
    rmSync(log, { force: true });
    const args = ['--filter=multi-conn', WRITEBACK, `events=${log}`, 'multi-conn-track-dirty=off', `multi-conn-exportname=${byName}`];
    const lines = await withServer(args, (s) =>
      printed(
        s.uriFor('a'),
        `
import nbd
NEW = b'\\x11' * 512
a1 = h
a2 = nbd.NBD()
a2.connect_uri(${JSON.stringify(s.uriFor('a'))})
b1 = nbd.NBD()
b1.connect_uri(${JSON.stringify(s.uriFor('b'))})
a1.pwrite(NEW, 0)
b1.flush()
print(a2.pread(512, 0) == NEW)
a1.flush()
print(a2.pread(512, 0) == NEW)
`,
      ),
    );
    expect(lines).toEqual(expected);
    const flushed = events(log).filter(([e]) => e === 'flush');
    expect({ a: flushed.filter(([, name]) => name === 'a').length, b: flushed.filter(([, name]) => name === 'b').length }).toEqual(flushes);
  });
});

describe('nbdcopy --connections=4 through the filter', () => {
  it('copies in and out of the caching plugin with four connections, one flush covering all, checksums equal', async () => {
    // nbdcopy gives each thread a 128 MiB slice: 1 MiB of data at the start
    // of four slices makes four connections write.
    const source = join(dir, 'sparse.img');
    const copy = join(dir, 'copy.img');
    const size = 3 * (128 << 20) + (1 << 20);
    writeFileSync(source, '');
    truncateSync(source, size);
    const fd = openSync(source, 'r+');
    for (let i = 0; i < 4; i++) writeSync(fd, randomBytes(1 << 20), 0, 1 << 20, i * (128 << 20));
    closeSync(fd);
    const log = join(dir, 'nbdcopy.events');
    rmSync(log, { force: true });

    await withServer(['--filter=multi-conn', WRITEBACK, `size=${size}`, `events=${log}`], async (s) => {
      const parallel = ['--connections=4', '--threads=4'];
      await runOk('nbdcopy', [...parallel, '--flush', '--target-is-zero', source, s.uri]);
      const copyIn = events(log);
      const opens = copyIn.filter(([e]) => e === 'open').length;
      const firstClose = copyIn.findIndex(([e]) => e === 'close');
      const lastFlush = copyIn.map(([e]) => e).lastIndexOf('flush');
      // nbdcopy used four connections and flushed once; that flush reached
      // every writer before any connection closed.
      expect(opens).toBe(4);
      expect(lastFlush).toBeGreaterThanOrEqual(0);
      expect(lastFlush).toBeLessThan(firstClose);
      await runOk('nbdcopy', [...parallel, s.uri, copy]);
    });
    const sha = async (file: string) => {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
      return hash.digest('hex');
    };
    expect(await sha(copy)).toBe(await sha(source));
  });
});

describe('mode auto', () => {
  const canMultiConn = async (args: readonly string[]) => {
    const { stdout } = await withServer(args, (s) => runOk('nbdinfo', ['--json', s.uri]));
    return (JSON.parse(stdout) as { exports: { can_multi_conn: boolean }[] }).exports[0]?.can_multi_conn;
  };

  it('is plugin over a plugin with multi-conn', async () => {
    expect(await canMultiConn(['--filter=multi-conn', 'file', image])).toBe(true);
  });

  it('is disable when the layers beneath serialize connections, and the server never advertises multi-conn then', async () => {
    expect(await canMultiConn(['--filter=multi-conn', `--filter=${SERIALIZE_CONNECTIONS}`, 'file', image])).toBe(false);
    // One connection at a time: the server drops multi-conn whatever a layer says (as nbdkit).
    expect(await canMultiConn(['--filter=multi-conn', `--filter=${SERIALIZE_CONNECTIONS}`, 'file', image, 'multi-conn-mode=emulate'])).toBe(false);
  });

  it('is disable over a plugin that can neither flush nor offer multi-conn', async () => {
    expect(await canMultiConn(['--filter=multi-conn', WRITEBACK, 'can-flush=false'])).toBe(false);
  });
});

describe('errors', () => {
  it('emulate over a plugin that cannot flush: the open fails with a message to the client and in the log', async () => {
    await withServer(['--filter=multi-conn', WRITEBACK, 'can-flush=false', 'multi-conn-mode=emulate'], async (s) => {
      const r = await run('nbdinfo', [s.uri], { env: { LIBNBD_DEBUG: '1' } });
      const message = 'multi-conn-mode=emulate needs flush, but "writeback" beneath cannot flush';
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`server error message: open "": ${message}`);
      expect(s.stderr()).toContain(`multi-conn[1]: error: ${message}`);
    });
  });

  it.each([
    ['multi-conn-mode=bogus', 'multi-conn: multi-conn-mode=bogus: expected one of auto, emulate, plugin, disable, unsafe'],
    ['multi-conn-track-dirty=bogus', 'multi-conn: multi-conn-track-dirty=bogus: expected connection (or conn), fast or off'],
    ['multi-conn-exportname=bogus', 'multi-conn: multi-conn-exportname=bogus: expected a boolean'],
    ['multi-conn-export-name=maybe', 'multi-conn: multi-conn-export-name=maybe: expected a boolean'],
  ])('%s', async (param, message) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', '--filter=multi-conn', 'file', image, param, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });
});
