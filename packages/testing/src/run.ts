import { spawn } from 'node:child_process';
import { TEST_PATH } from './tools.js';

/** What a finished command printed and how it ended. */
export interface RunResult {
  /** The exit status, or null when a signal ended the command. */
  readonly status: number | null;
  /** The signal that ended the command, or null when it exited. */
  readonly signal: NodeJS.Signals | null;
  /** Everything it wrote to stdout. */
  readonly stdout: string;
  /** Everything it wrote to stderr. */
  readonly stderr: string;
}

/** Options for {@link run}. */
export interface RunOptions {
  /** Written to the command's stdin, which is then closed (default: nothing). */
  readonly input?: string | Buffer | undefined;
  /** Added to the test's environment (or, with `inheritEnv: false`, the whole environment besides PATH). */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Start from the test's environment (default true). */
  readonly inheritEnv?: boolean;
  /** Working directory of the command (default: the test's). */
  readonly cwd?: string;
  /** Kill the command after this many milliseconds (default 120 s). */
  readonly timeout?: number;
}

/** Runs a command (never through a shell) with /usr/bin first on PATH, and collects its output. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...(options.inheritEnv === false ? {} : process.env), PATH: TEST_PATH, ...options.env },
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
  });
}

/** Runs a command and throws, with its output, unless it exits 0. */
export async function runOk(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, options);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r;
}

/**
 * Python for nbdsh scripts: `expect_error(errno.EINVAL, h.pread, 512, 0)` (or
 * `expect_error("EINVAL", ...)`) asserts that the call fails with that errno.
 * Put it first in the script.
 */
export const NBDSH_EXPECT_ERROR = `
import errno
def expect_error(code, fn, *args):
    want = getattr(errno, code) if isinstance(code, str) else code
    try:
        fn(*args)
    except nbd.Error as e:
        assert e.errnum == want, "%s: expected %s, got %s (%s)" % (fn.__name__, errno.errorcode[want], e.errno, e.string)
        return
    raise AssertionError("%s: expected %s, the call succeeded" % (fn.__name__, errno.errorcode[want]))
`;

/** Options for {@link nbdsh}. */
export interface NbdshOptions extends RunOptions {
  /** Ask for the base:allocation meta context (block status) before connecting. */
  readonly baseAllocation?: boolean;
}

/** Runs a python script under nbdsh with `h` connected to `uri`; throws unless it exits 0. */
export function nbdsh(uri: string, script: string, options: NbdshOptions = {}): Promise<RunResult> {
  return runOk('nbdsh', [...(options.baseAllocation === true ? ['--base-allocation'] : []), '-u', uri, '-c', script], options);
}
