import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TEST_PATH } from './tools.js';

/**
 * Path of the real `nbdkit-ts` command: $NBDKIT_TS_CLI, or the built CLI of
 * the `@nbdkit-ts/server` package found from the working directory (install
 * it beside this package: `npm i -D @nbdkit-ts/server`).
 */
export function cliPath(): string {
  const fromEnv = process.env.NBDKIT_TS_CLI;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  try {
    return join(dirname(createRequire(join(process.cwd(), '_')).resolve('@nbdkit-ts/server/package.json')), 'dist/cli/main.js');
  } catch {
    throw new Error(`@nbdkit-ts/server is not installed in ${process.cwd()}: add it to your devDependencies (npm i -D @nbdkit-ts/server), or set $NBDKIT_TS_CLI to the nbdkit-ts command`);
  }
}

/** A running server started from the real CLI. */
export interface ServerProcess {
  /** The server's process. */
  readonly child: ChildProcess;
  /** Unix socket path it listens on. */
  readonly socket: string;
  /** `nbd+unix:///?socket=...` for the default export. */
  readonly uri: string;
  /** The URI of a named export. */
  uriFor(exportName: string): string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Sends a signal and waits for it to exit; returns the exit status. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Options for {@link startServer}. */
export interface StartOptions {
  /** Added to the test's environment. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Working directory of the server (default: the test's). */
  readonly cwd?: string;
  /** How long to wait for the socket (default 15 s). */
  readonly timeout?: number;
  /** Open descriptors handed to the server as its descriptors 3, 4, ... */
  readonly fds?: readonly number[];
}

/**
 * Starts the server as {@link startServer} does, runs `body` with it, and
 * stops it however `body` ends; resolves with what `body` resolves with.
 */
export async function withServer<T>(args: readonly string[], body: (server: ServerProcess) => Promise<T>, options: StartOptions = {}): Promise<T> {
  const server = await startServer(args, options);
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

/** Makes a fresh temporary directory; remove it with `rmSync(dir, { recursive: true })`. */
export function tempDir(prefix = 'nbdkit-ts-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Starts `nbdkit-ts -f -U SOCKET ARGS...` and resolves once the socket exists.
 * Rejects with the server's stderr if it exits first.
 */
export async function startServer(args: readonly string[], options: StartOptions = {}): Promise<ServerProcess> {
  const dir = tempDir('nbdkit-ts-sock-');
  const socket = join(dir, 'nbd.sock');
  const child = spawn(process.execPath, [cliPath(), '-f', '-U', socket, ...args], {
    env: { ...process.env, PATH: TEST_PATH, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe', ...(options.fds ?? [])],
  });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  child.stdout?.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === null ? null : 128))));
  const deadline = Date.now() + (options.timeout ?? 15_000);
  while (!existsSync(socket)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited before listening:\n${err}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not listen in time:\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const uriFor = (name: string) => `nbd+unix:///${encodeURIComponent(name)}?socket=${socket}`;
  return {
    child,
    socket,
    uri: uriFor(''),
    uriFor,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const status = await exited;
      rmSync(dir, { recursive: true, force: true });
      return status;
    },
  };
}
