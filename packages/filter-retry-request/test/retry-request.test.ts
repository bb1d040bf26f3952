import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cliPath, nbdsh, NBDSH_EXPECT_ERROR, run, type ServerProcess, tempDir, withServer } from '@nbdkit-ts/testing';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));

let dir: string;
let log: string;

beforeAll(() => {
  dir = tempDir();
  log = join(dir, 'log');
});

beforeEach(() => {
  rmSync(log, { force: true });
  for (const f of ['open', 'pread', 'pwrite', 'flush', 'trim', 'zero', 'extents', 'cache']) rmSync(join(dir, `count-${f}`), { force: true });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * An eval snippet for `method` that records each call in the log, fails the
 * first `fails` calls with `error`, then runs `body`.
 */
function flaky(method: string, fails: number, body: string, error = 'EIO'): string {
  const count = join(dir, `count-${method}`);
  return `${method}=n=$(( $(cat ${count} 2>/dev/null || echo 0) + 1 )); echo $n > ${count}; echo ${method} >> ${log}; if [ $n -le ${fails} ]; then echo "${error} ${method} failed ($n)" >&2; exit 1; fi; ${body}`;
}

/** An eval plugin of 1 MiB of zeroes whose every call fails its first `fails` times (`open` its first `openFails`). */
function disk(fails: number, openFails = 0, error = 'EIO'): string[] {
  return [
    'eval',
    'get_size=echo 1M',
    flaky('open', openFails, 'echo h'),
    flaky('pread', fails, 'dd if=/dev/zero count=$3 iflag=count_bytes status=none', error),
    flaky('pwrite', fails, 'cat > /dev/null', error),
    flaky('flush', fails, 'exit 0', error),
    flaky('trim', fails, 'exit 0', error),
    flaky('zero', fails, 'exit 0', error),
    flaky('extents', fails, 'echo 0 1M hole,zero', error),
    'can_cache=echo native',
    flaky('cache', fails, 'exit 0', error),
    'can_fast_zero=exit 0',
  ];
}

/** The server with this test's stack in front of `args`. */
function withStack<T>(args: readonly string[], body: (server: ServerProcess) => Promise<T>): Promise<T> {
  return withServer([`--filter=${FILTER}`, ...args], body);
}

/** The calls that reached the plugin. */
const calls = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);

/** Python for nbdsh: every data call once. */
const EVERY_CALL = `
h.pread(512, 0)
h.pwrite(bytes(512), 0)
h.flush()
h.trim(512, 0)
h.zero(512, 0)
h.block_status(512, 0, lambda *args: 0)
h.cache(512, 0)
`;

const EVERY_METHOD = ['pread', 'pwrite', 'flush', 'trim', 'zero', 'extents', 'cache'];

describe('requests', () => {
  it('a request that fails is retried until it succeeds, each call of every kind', async () => {
    await withStack([...disk(2), 'retry-request-delay=1ms'], async (s) => {
      await nbdsh(s.uri, EVERY_CALL, { baseAllocation: true });
      expect(calls()).toEqual(['open', ...EVERY_METHOD.flatMap((m) => [m, m, m])]);
    });
  });

  it('block status answers what the try that succeeded reported', async () => {
    await withStack([...disk(1), 'retry-request-delay=1ms'], async (s) => {
      const out = await nbdsh(s.uri, 'h.block_status(4096, 0, lambda m, o, e, err: print(e))', { baseAllocation: true });
      // The whole extent the plugin reported, past the request (as nbdkit).
      expect(out.stdout.trim()).toBe('[1048576, 3]');
    });
  });

  it.each([
    ['EIO', 'h.pread', '512, 0'],
    ['ENOSPC', 'h.pwrite', 'bytes(512), 0'],
    ['EPERM', 'h.trim', '512, 0'],
  ])('once the retries are spent the client gets the last error (%s)', async (code, call, args) => {
    await withStack([...disk(3, 0, code), 'retry-request-retries=2', 'retry-request-delay=1ms'], async (s) => {
      await nbdsh(s.uri, `${NBDSH_EXPECT_ERROR}\nexpect_error("${code}", ${call}, ${args})`);
      const method = call.slice(2);
      expect(calls()).toEqual(['open', method, method, method]);
    });
  });

  it('retry-request-retries=N tries a request N + 1 times', async () => {
    await withStack([...disk(5), 'retry-request-retries=5', 'retry-request-delay=1ms'], async (s) => {
      await nbdsh(s.uri, 'h.pread(512, 0)');
      expect(calls()).toEqual(['open', ...Array<string>(6).fill('pread')]);
    });
  });

  it('retry-request-retries=0 retries nothing, open included', async () => {
    await withStack([...disk(1, 1), 'retry-request-retries=0'], async (s) => {
      const r = await run('nbdsh', ['-u', s.uri, '-c', 'pass']);
      expect(r.status).not.toBe(0);
      await nbdsh(s.uri, `${NBDSH_EXPECT_ERROR}\nexpect_error("EIO", h.pread, 512, 0)\nh.pread(512, 0)`);
      expect(calls()).toEqual(['open', 'open', 'pread', 'pread']);
    });
  });

  it('a fast zero refused with ENOTSUP is not retried', async () => {
    await withStack([...disk(1, 0, 'ENOTSUP'), 'retry-request-delay=1ms'], async (s) => {
      await nbdsh(s.uri, `${NBDSH_EXPECT_ERROR}\nexpect_error("ENOTSUP", h.zero, 512, 0, nbd.CMD_FLAG_FAST_ZERO)`);
      expect(calls()).toEqual(['open', 'zero']);
    });
  });

  it('each retry waits retry-request-delay, and says so with -v', async () => {
    await withStack(['-v', ...disk(1), 'retry-request-delay=250ms'], async (s) => {
      await nbdsh(s.uri, 'h.pread(512, 0)');
      expect(s.stderr()).toMatch(/pread failed \(EIO: .*pread failed \(1\)\): retry 1 of 2 in 250ms/);
    });
  });

  it('a retry waiting when the connection closes gives up at once', async () => {
    await withStack(['-v', ...disk(5), 'retry-request-delay=3600'], async (s) => {
      // The read fails once and waits an hour before its retry; the client leaves meanwhile.
      await nbdsh(s.uri, `import os\nh.aio_pread(nbd.Buffer(512), 0)\nwhile not os.path.exists(${JSON.stringify(log)}) or len(open(${JSON.stringify(log)}).read().split()) < 2:\n    h.poll(100)`);
      expect(await s.stop()).toBe(0);
      expect(s.stderr()).toContain('pread: retry 1 abandoned: the connection is closing');
      expect(calls()).toEqual(['open', 'pread']);
    });
  });
});

describe('open', () => {
  it('a failed open is retried like a request (retry-request-open=true, the default)', async () => {
    await withStack([...disk(0, 2), 'retry-request-delay=1ms'], async (s) => {
      await nbdsh(s.uri, 'h.pread(512, 0)');
      expect(calls()).toEqual(['open', 'open', 'open', 'pread']);
    });
  });

  it('once the retries are spent the client cannot connect', async () => {
    await withStack([...disk(0, 3), 'retry-request-delay=1ms'], async (s) => {
      const r = await run('nbdsh', ['-u', s.uri, '-c', 'pass']);
      expect(r.status).not.toBe(0);
      expect(s.stderr()).toContain('open failed (3)');
      expect(calls()).toEqual(['open', 'open', 'open']);
    });
  });

  it('retry-request-open=false opens once', async () => {
    await withStack([...disk(0, 1), 'retry-request-delay=1ms', 'retry-request-open=false'], async (s) => {
      const r = await run('nbdsh', ['-u', s.uri, '-c', 'pass']);
      expect(r.status).not.toBe(0);
      await nbdsh(s.uri, 'h.pread(512, 0)');
      expect(calls()).toEqual(['open', 'open', 'pread']);
    });
  });
});

describe('parameters', () => {
  it.each([
    ['retry-request-retries=-1', 'retry-request-retries=-1: expected a whole number from 0 to 1000'],
    ['retry-request-retries=1001', 'retry-request-retries=1001: expected a whole number from 0 to 1000'],
    ['retry-request-retries=two', 'retry-request-retries=two: expected a whole number from 0 to 1000'],
    ['retry-request-delay=0', 'retry-request-delay=0: the delay must be more than 0'],
    ['retry-request-delay=soon', 'retry-request-delay=soon: expected a delay in seconds'],
    ['retry-request-open=maybe', 'retry-request-open=maybe: expected a boolean'],
  ])('%s is refused', async (param, message) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'null', param, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`retry-request: ${message}`);
  });

  it('--help lists the parameters', async () => {
    const r = await run(process.execPath, [cliPath(), `--filter=${FILTER}`, 'null', '--help']);
    for (const key of ['retry-request-retries', 'retry-request-delay', 'retry-request-open']) expect(r.stdout).toContain(key);
  });
});
