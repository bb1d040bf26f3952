import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NBDSH_EXPECT_ERROR, nbdsh, startServer, tempDir, type NbdshOptions, type RunResult, type ServerProcess } from '@nbdkit-ts/testing';

/** The test plugin that serves a file and fails on command (see its header). */
const FLAKY = fileURLToPath(new URL('./flaky-plugin.js', import.meta.url));
/** The same, declaring serialize-connections. */
export const FLAKY_SERIAL = fileURLToPath(new URL('./flaky-serial-plugin.js', import.meta.url));

/** Python run under nbdsh before each script: expect_error(errno.EIO, h.pread, 512, 0). */
const PRELUDE = `
${NBDSH_EXPECT_ERROR}`;

/** How to set up one scenario. */
export interface ScenarioOptions {
  /** The disk's contents, or its size (random contents). */
  readonly disk: Buffer | number;
  /** Control files of the plugin, by name (`fail-pread`, `open-2.json`, ...). */
  readonly control?: Record<string, string>;
  /** Parameters after the plugin's. */
  readonly params?: readonly string[];
  /** The plugin module (default: the flaky plugin). */
  readonly plugin?: string;
}

/** A server running `-v --filter=reopen PLUGIN disk state=DIR PARAMS...`, and what the plugin logged. */
export interface Scenario {
  readonly dir: string;
  readonly disk: string;
  readonly data: Buffer;
  readonly server: ServerProcess;
  /** Writes a control file of the plugin. */
  control(name: string, content: string): void;
  /** The plugin's log lines so far. */
  events(): string[];
  /** How many opens the plugin saw, failed ones included. */
  opens(): number;
  /** Runs a script under nbdsh (PRELUDE first); `disk` is the path of the disk in Python. */
  sh(script: string, options?: NbdshOptions): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function scenario(options: ScenarioOptions): Promise<Scenario> {
  const dir = tempDir('nbdkit-ts-reopen-');
  const state = join(dir, 'state');
  mkdirSync(state);
  const disk = join(dir, 'disk.img');
  const data = typeof options.disk === 'number' ? randomBytes(options.disk) : options.disk;
  writeFileSync(disk, data);
  const control = (name: string, content: string) => writeFileSync(join(state, name), content);
  for (const [name, content] of Object.entries(options.control ?? {})) control(name, content);
  let server: ServerProcess;
  try {
    server = await startServer(['-v', '--filter=reopen', options.plugin ?? FLAKY, disk, `state=${state}`, ...(options.params ?? [])]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const events = () => {
    const log = join(state, 'log');
    return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  };
  return {
    dir,
    disk,
    data,
    server,
    control,
    events,
    opens: () => events().filter((l) => /^open \d+ /.test(l)).length,
    sh: (script, shOptions) => nbdsh(server.uri, `${PRELUDE}\ndisk = ${JSON.stringify(disk)}\n${script}`, shOptions),
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `n` lines of `code`, the content of a `fail-METHOD` control file. */
export function failures(n: number, code = 'EIO'): string {
  return Array.from({ length: n }, () => code).join('\n');
}

/** Resolves once `condition` holds, checking every 20 ms; fails after `ms`. */
export async function until(condition: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not seen within ${ms / 1000} s: ${condition.toString()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
