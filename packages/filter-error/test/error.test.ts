import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MEMORY_PLUGIN, NBDSH_EXPECT_ERROR, cliPath, nbdsh, run, startServer, tempDir, type ServerProcess } from '@nbdkit-ts/testing';

/** Python run under nbdsh before each script: expect_error(errno.EIO, h.pread, 512, 0). */
const PRELUDE = `
${NBDSH_EXPECT_ERROR}def extents():
    h.block_status(4096, 0, lambda *a: 0)
`;

/** Every data call under nbdsh: the function and its arguments. */
const CALLS: Record<string, readonly [string, string]> = {
  pread: ['h.pread', '512, 0'],
  pwrite: ['h.pwrite', 'bytes(512), 0'],
  flush: ['h.flush', ''],
  trim: ['h.trim', '512, 0'],
  zero: ['h.zero', '512, 0'],
  extents: ['extents', ''],
  cache: ['h.cache', '512, 0'],
};
const METHODS = Object.keys(CALLS);

/** Python that makes the call and expects it to succeed. */
const call = (name: string) => {
  const [fn, args] = CALLS[name] as readonly [string, string];
  return `${fn}(${args})`;
};
/** Python that makes the call and expects it to fail with `code`. */
const expectError = (code: string, name: string) => {
  const [fn, args] = CALLS[name] as readonly [string, string];
  return `expect_error(errno.${code}, ${fn}${args === '' ? '' : `, ${args}`})`;
};

describe('filter-error', () => {
  let dir: string;
  const servers: ServerProcess[] = [];
  const serve = async (params: string[], cwd?: string) => {
    const s = await startServer(['--filter=error', MEMORY_PLUGIN, ...params], cwd === undefined ? {} : { cwd });
    servers.push(s);
    return s;
  };
  const sh = (s: ServerProcess, script: string) => nbdsh(s.uri, PRELUDE + script, { baseAllocation: true });

  beforeAll(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('without a rate it injects nothing', async () => {
    const s = await serve(['error=ENOSPC']);
    await sh(s, METHODS.map(call).join('\n'));
  });

  it('error-rate=100% fails every call with EIO, and the connection goes on', async () => {
    const s = await serve(['error-rate=100%']);
    await sh(s, [...METHODS, 'pread'].map((m) => expectError('EIO', m)).join('\n'));
    expect(s.stderr()).toMatch(/error: error: injecting EIO into pread/);
    expect(s.stderr()).toMatch(/injecting EIO into flush/);
  });

  it('a setting for one kind of call beats the setting for every call, whatever the order', async () => {
    const s = await serve(['error-pread=EPERM', 'error-pread-rate=1', 'error=ENOSPC', 'error-rate=1', 'error-flush-rate=0', 'error-trim-rate=0%', 'error-cache=eshutdown']);
    await sh(
      s,
      [
        expectError('EPERM', 'pread'),
        expectError('ENOSPC', 'pwrite'),
        expectError('ENOSPC', 'zero'),
        expectError('ENOSPC', 'extents'),
        expectError('ESHUTDOWN', 'cache'),
        call('flush'),
        call('trim'),
      ].join('\n'),
    );
  });

  it('error-file: errors only while the file exists; error-METHOD-file beats it; relative names from the working directory', async () => {
    const all = join(dir, 'inject-all');
    const writes = join(dir, 'inject-writes');
    const s = await serve(['error-rate=1', 'error-file=inject-all', `error-pwrite-file=${writes}`], dir);
    const script = (readFails: boolean, writeFails: boolean) =>
      sh(s, [readFails ? expectError('EIO', 'pread') : call('pread'), writeFails ? expectError('EIO', 'pwrite') : call('pwrite')].join('\n'));
    await script(false, false);
    writeFileSync(all, '');
    await script(true, false);
    writeFileSync(writes, '');
    await script(true, true);
    unlinkSync(all);
    await script(false, true);
    unlinkSync(writes);
    await script(false, false);
  });

  it('error-seed repeats the same choices; another seed makes others', async () => {
    const pattern = async (seed: string) => {
      const s = await serve(['error-rate=50%', `error-seed=${seed}`]);
      const { stdout } = await sh(
        s,
        `
out = ""
for i in range(200):
    try:
        h.pread(512, 0)
        out += "."
    except nbd.Error as e:
        assert e.errnum == errno.EIO
        out += "x"
print(out)
`,
      );
      return stdout.trim();
    };
    const [a, b, c] = [await pattern('7'), await pattern('7'), await pattern('8')];
    expect(a).toHaveLength(200);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).toContain('x');
    expect(a).toContain('.');
  });

  it('-v shows the seed it picked', async () => {
    const s = await serve(['-v', 'error-rate=0.5']);
    await sh(s, 'pass');
    expect(s.stderr()).toMatch(/error: debug: random seed \d+ \(repeat this run with error-seed=\d+\)/);
  });

  it('--help lists every key', async () => {
    const { stdout } = await run(process.execPath, [cliPath(), '--filter=error', MEMORY_PLUGIN, '--help']);
    for (const m of ['', ...METHODS.map((k) => `-${k}`)]) {
      for (const suffix of ['', '-rate', '-file']) expect(stdout).toContain(`error${m}${suffix}`);
    }
    expect(stdout).toContain('error-seed');
  });

  it.each([
    ['error=EFOO', 'error=EFOO: "EFOO" is not an errno name (such as EIO, ENOSPC, EPERM or ESHUTDOWN)'],
    ['error-pread=nope', 'error-pread=nope: "NOPE" is not an errno name'],
    ['error-rate=2', 'error-rate=2: rate is out of range'],
    ['error-rate=150%', 'error-rate=150%: rate is out of range'],
    ['error-rate=-1', 'error-rate=-1: expected a rate such as 0.1 or 10%'],
    ['error-trim-rate=abc', 'error-trim-rate=abc: expected a rate such as 0.1 or 10%'],
    ['error-zero-rate=10%%', 'error-zero-rate=10%%: expected a rate'],
    ['error-file=', 'error-file=: expected a file name'],
    ['error-cache-file=', 'error-cache-file=: expected a file name'],
    ['error-seed=abc', 'error-seed=abc: expected a whole number from 0 to 4294967295'],
    ['error-seed=4294967296', 'error-seed=4294967296: expected a whole number from 0 to 4294967295'],
    ['error-flush-rate=x', 'error-flush-rate=x: expected a rate'],
    ['error-write-rate=1', 'unknown parameter "error-write-rate"'],
  ])('%s is refused: %s', async (param, message) => {
    const r = await run(process.execPath, [cliPath(), '-f', '-U', join(dir, 'never.sock'), '--filter=error', MEMORY_PLUGIN, param]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });
});
