import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, nbdsh, NBDSH_EXPECT_ERROR, run, type ServerProcess, tempDir, withServer } from '@nbdkit-ts/testing';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const MODES = ['none', 'emulate', 'native', 'force', 'pass', 'discard'];

let dir: string;
let log: string;

beforeAll(() => {
  dir = tempDir();
  log = join(dir, 'log');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the plugin beneath has: flush and native FUA, flush (FUA emulated by the server), or neither. */
type Beneath = 'native' | 'emulate' | 'none';

/**
 * An eval plugin of 1 MiB that records its writes, zeroes, trims and
 * flushes (`pwrite COUNT OFFSET FLAGS`, ..., `flush`) in the log.
 */
function recordingPlugin(beneath: Beneath): string[] {
  return [
    'eval',
    'get_size=echo 1M',
    'pread=dd if=/dev/zero count=$3 iflag=count_bytes status=none',
    `pwrite=echo pwrite $3 $4 $5 >> ${log}; cat > /dev/null`,
    `zero=echo zero $3 $4 $5 >> ${log}`,
    `trim=echo trim $3 $4 $5 >> ${log}`,
    ...(beneath === 'none' ? [] : [`flush=echo flush >> ${log}`, `can_fua=echo ${beneath}`]),
  ];
}

const args = (mode: string, beneath: Beneath, ...extra: string[]) => [...extra, `--filter=${FILTER}`, ...recordingPlugin(beneath), `fuamode=${mode}`];

/** The server, with the log of the calls beneath emptied first. */
function withStack<T>(args: readonly string[], body: (server: ServerProcess) => Promise<T>): Promise<T> {
  rmSync(log, { force: true });
  return withServer(args, body);
}

/** The log's lines, without trailing spaces (a call without flags). */
const logged = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => l.trimEnd()) : []);

/** Connects and runs `script`, returning what it printed, or the server's complaint when the connection is refused. */
async function connect(args: readonly string[], script: string): Promise<string> {
  const r = await run(process.execPath, [cliPath(), '-U', '-', ...args, '--run', `nbdsh -u "$uri" -c '${script}'`]);
  if (r.status === 0) return r.stdout.trim();
  const refused = /fua: fuamode=.*/.exec(r.stderr);
  if (refused === null) throw new Error(`nbdsh failed:\n${r.stderr}`);
  return refused[0];
}

describe('what is advertised', () => {
  const script = 'print(h.can_fua(), h.can_flush())';
  // [mode, over flush and native FUA, over flush alone, over neither]
  it.each([
    ['none', 'False True', 'False True', 'False False'],
    ['emulate', 'True True', 'True True', 'fua: fuamode=emulate needs the layer beneath (eval) to support flush, and it does not'],
    ['native', 'True True', 'True True', 'fua: fuamode=native needs the layer beneath (eval) to support FUA, and it does not'],
    ['force', 'True True', 'True True', 'fua: fuamode=force needs the layer beneath (eval) to support FUA, and it does not'],
    ['pass', 'True True', 'True True', 'False False'],
    ['discard', 'True True', 'True True', 'True True'],
  ])('fuamode=%s: %s over flush and native FUA, %s over flush alone, %s over neither', async (mode, native, emulated, neither) => {
    expect(await connect(args(mode, 'native'), script)).toBe(native);
    expect(await connect(args(mode, 'emulate'), script)).toBe(emulated);
    expect(await connect(args(mode, 'none'), script)).toBe(neither);
  });

  it.each(MODES)('fuamode=%s: a read-only connection is served whatever the layer beneath has, and advertises no FUA', async (mode) => {
    expect(await connect(args(mode, 'none', '-r'), 'print(h.is_read_only(), h.can_fua())')).toBe('True False');
  });
});

/** Python for nbdsh: a flush, then a write, a zero and a trim without FUA, then the same with FUA (if advertised). */
const CALLS = `
h.flush()
h.pwrite(b"x" * 512, 0)
h.zero(512, 512)
h.trim(512, 1024)
if h.can_fua():
    h.pwrite(b"x" * 512, 0, nbd.CMD_FLAG_FUA)
    h.zero(512, 512, nbd.CMD_FLAG_FUA)
    h.trim(512, 1024, nbd.CMD_FLAG_FUA)
`;

describe('calls beneath (over flush and native FUA)', () => {
  const plain = ['pwrite 512 0', 'zero 512 512 may_trim', 'trim 512 1024'];
  it.each([
    ['none', ['flush', ...plain]],
    ['emulate', ['flush', ...plain, 'pwrite 512 0', 'flush', 'zero 512 512 may_trim', 'flush', 'trim 512 1024', 'flush']],
    ['native', ['flush', ...plain, 'pwrite 512 0 fua', 'zero 512 512 fua,may_trim', 'trim 512 1024 fua']],
    ['force', ['pwrite 512 0 fua', 'zero 512 512 fua,may_trim', 'trim 512 1024 fua', 'pwrite 512 0 fua', 'zero 512 512 fua,may_trim', 'trim 512 1024 fua']],
    ['pass', ['flush', ...plain, 'pwrite 512 0 fua', 'zero 512 512 fua,may_trim', 'trim 512 1024 fua']],
    ['discard', [...plain, ...plain]],
  ])('fuamode=%s: %j', async (mode, calls) => {
    await withStack(args(mode, 'native'), async (s) => {
      await nbdsh(s.uri, CALLS);
      expect(logged()).toEqual(calls);
    });
  });

  it('fuamode=none: a client that sends FUA anyway gets EINVAL, and nothing reaches the plugin', async () => {
    await withStack(args('none', 'native'), async (s) => {
      await nbdsh(s.uri, `${NBDSH_EXPECT_ERROR}\nh.set_strict_mode(0)\nexpect_error("EINVAL", h.pwrite, b"x" * 512, 0, nbd.CMD_FLAG_FUA)`);
      expect(logged()).toEqual([]);
    });
  });

  it.each([
    ['force', 'pwrite 512 0 fua'],
    ['discard', 'pwrite 512 0'],
  ])('fuamode=%s: flush succeeds over a layer beneath without flush (with FUA of its own)', async (mode, write) => {
    await withStack([...args(mode, 'none'), 'can_fua=echo native'], async (s) => {
      await nbdsh(s.uri, 'assert h.can_flush()\nh.flush()\nh.pwrite(b"x" * 512, 0)');
      expect(logged()).toEqual([write]);
    });
  });
});

describe('under the blocksize filter (maxdata=4K), which cuts a write of 16K into 4', () => {
  it.each([
    ['emulate', [...Array<string>(4).fill('pwrite 4096'), 'flush']],
    ['native', Array<string>(4).fill('pwrite 4096 fua')],
  ])('fuamode=%s: the pieces go %j', async (mode, calls) => {
    await withStack(['--filter=blocksize', ...args(mode, 'native'), 'maxdata=4K'], async (s) => {
      await nbdsh(s.uri, 'h.pwrite(b"x" * 16384, 0, nbd.CMD_FLAG_FUA)');
      expect(logged().map((l) => l.replace(/ \d+( fua)?$/, '$1'))).toEqual(calls);
    });
  });
});

describe('parameters', () => {
  it.each(['bogus', '', 'Native', 'fua'])('fuamode=%s is refused', async (value) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'null', `fuamode=${value}`, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`fua: fuamode=${value}: unknown mode: expected none, emulate, native, force, pass or discard`);
  });
});
