import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, MEMORY_PLUGIN, nbdsh, run, runOk, type ServerProcess, tempDir, withServer } from '@nbdkit-ts/testing';

const FILTER = 'noparallel';

let dir: string;
let log: string;

beforeAll(() => {
  dir = tempDir();
  log = join(dir, 'log');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * An eval plugin that takes any number of requests at once: each read
 * records `start OFFSET` and `end OFFSET` in the log, 300 ms apart, so the
 * log shows which reads overlapped.
 */
function observingPlugin(): string[] {
  return [
    'eval',
    "thread_model=echo parallel",
    'get_size=echo 1M',
    `pread=echo start $4 >> ${log}; sleep 0.3; echo end $4 >> ${log}; dd if=/dev/zero count=$3 iflag=count_bytes status=none`,
  ];
}

/** The server, with the log of the calls beneath emptied first. */
function withStack<T>(args: readonly string[], body: (server: ServerProcess) => Promise<T>): Promise<T> {
  rmSync(log, { force: true });
  return withServer(args, body);
}

/** The log's lines, `start OFFSET` / `end OFFSET`. */
const events = (): string[] => readFileSync(log, 'utf8').trim().split('\n');

/** Waits until the log has `line`. */
async function untilLogged(line: string): Promise<void> {
  while (!existsSync(log) || !events().includes(line)) await new Promise((r) => setTimeout(r, 20));
}

/** The largest number of reads that were running at once, from the log. */
function mostAtOnce(lines: readonly string[]): number {
  let now = 0;
  let most = 0;
  for (const l of lines) {
    now += l.startsWith('start') ? 1 : -1;
    most = Math.max(most, now);
  }
  return most;
}

/** Python for nbdsh: four reads in flight at once, at `base`, `base`+512, ... */
const fourReads = (base: number) => `
for i in range(4):
    h.aio_pread(nbd.Buffer(512), ${base} + i * 512)
while h.aio_in_flight() > 0:
    h.poll(-1)
`;

describe('requests of one client', () => {
  it('overlap without the filter (the plugin is parallel)', async () => {
    await withStack(observingPlugin(), async (s) => {
      await nbdsh(s.uri, fourReads(0));
      expect(mostAtOnce(events())).toBeGreaterThan(1);
    });
  });

  it.each([[[]], [['serialize=requests']], [['serialize=all-requests']], [['serialize=connections']], [['serialise=requests']]])(
    'run one at a time with %j',
    async (params) => {
      await withStack([`--filter=${FILTER}`, ...observingPlugin(), ...params], async (s) => {
        await nbdsh(s.uri, fourReads(0));
        const lines = events();
        expect(lines).toHaveLength(8);
        expect(mostAtOnce(lines)).toBe(1);
      });
    },
  );
});

describe('requests of two clients', () => {
  const twoClients = (s: ServerProcess) => Promise.all([nbdsh(s.uri, fourReads(0)), nbdsh(s.uri, fourReads(65536))]);

  it('serialize=requests: the clients are served side by side', async () => {
    await withStack([`--filter=${FILTER}`, ...observingPlugin()], async (s) => {
      await twoClients(s);
      expect(mostAtOnce(events())).toBe(2);
    });
  });

  it.each(['all-requests', 'all_requests'])('serialize=%s: one request at a time in the whole server', async (mode) => {
    await withStack([`--filter=${FILTER}`, ...observingPlugin(), `serialize=${mode}`], async (s) => {
      await twoClients(s);
      const lines = events();
      expect(lines).toHaveLength(16);
      expect(mostAtOnce(lines)).toBe(1);
    });
  });

  it('serialize=connections: the second client is served only once the first has gone', async () => {
    await withStack([`--filter=${FILTER}`, ...observingPlugin(), 'serialize=connections'], async (s) => {
      // The first client reads, stays connected for a second, and reads again; the second one connects meanwhile.
      const first = nbdsh(s.uri, 'import time\nh.pread(512, 0)\ntime.sleep(1)\nh.pread(512, 512)');
      await untilLogged('end 0');
      const second = nbdsh(s.uri, 'h.pread(512, 65536)');
      await Promise.all([first, second]);
      expect(events()).toEqual(['start 0', 'end 0', 'start 512', 'end 512', 'start 65536', 'end 65536']);
    });
  });

  it('serialize=all-requests: a second client is served while the first stays connected', async () => {
    await withStack([`--filter=${FILTER}`, ...observingPlugin(), 'serialize=all-requests'], async (s) => {
      const first = nbdsh(s.uri, 'import time\nh.pread(512, 0)\ntime.sleep(1)\nh.pread(512, 512)');
      await untilLogged('end 0');
      const second = nbdsh(s.uri, 'h.pread(512, 65536)');
      await Promise.all([first, second]);
      expect(events()).toEqual(['start 0', 'end 0', 'start 65536', 'end 65536', 'start 512', 'end 512']);
    });
  });
});

describe('advertised flags', () => {
  it.each([
    [[], 'True'],
    [['serialize=all-requests'], 'True'],
    [['serialize=connections'], 'False'],
  ])('with %j multi-conn is %s (the plugin advertises it)', async (params, multiConn) => {
    await withStack([`--filter=${FILTER}`, MEMORY_PLUGIN, ...params], async (s) => {
      expect((await nbdsh(s.uri, 'print(h.can_multi_conn())')).stdout.trim()).toBe(multiConn);
    });
  });

  it('everything else passes through', async () => {
    const script = 'print(h.can_zero(), h.can_fast_zero(), h.can_cache(), h.can_fua(), h.can_trim(), h.can_flush(), h.is_read_only())';
    const expected = 'True True True True True True False';
    await withStack([MEMORY_PLUGIN], async (s) => expect((await nbdsh(s.uri, script)).stdout.trim()).toBe(expected));
    await withStack([`--filter=${FILTER}`, MEMORY_PLUGIN, 'serialize=connections'], async (s) => expect((await nbdsh(s.uri, script)).stdout.trim()).toBe(expected));
  });

  it('data passes unchanged', async () => {
    await withStack([`--filter=${FILTER}`, MEMORY_PLUGIN, 'serialize=all-requests'], async (s) => {
      await nbdsh(s.uri, 'h.pwrite(b"abc" * 1000, 4096)\nassert h.pread(3000, 4096) == b"abc" * 1000');
      await runOk('nbdinfo', ['--size', s.uri]);
    });
  });
});

describe('parameters', () => {
  it.each(['serialize=bogus', 'serialize=', 'serialise=Requests', 'serialize=all requests'])('%s is refused', async (param) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'null', param, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`noparallel: ${param}: unknown mode: expected requests, all-requests or connections`);
  });
});
