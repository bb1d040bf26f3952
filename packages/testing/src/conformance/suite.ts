import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { FAULT_FILTER, MEMORY_PLUGIN } from '../layers.js';
import { run } from '../run.js';
import { startServer, tempDir, type ServerProcess } from '../server-process.js';
import { checks, type Check, type CheckSpec } from './checks.js';

/** What a suite hands to a `params` function: a fresh folder for one server, removed after it stops. */
export interface Fixture {
  /** Path of the folder. */
  readonly dir: string;
}

/**
 * Command-line parameters (`key=value` and bare words), or a function making
 * them for each server of the suite (to create a fresh image in `fixture.dir`).
 */
export type Params = readonly string[] | ((fixture: Fixture) => readonly string[] | Promise<readonly string[]>);

/** Options common to {@link testPlugin} and {@link testFilter}. */
export interface SuiteOptions {
  /** Title of the `describe` block (default: the layer as given). */
  readonly title?: string;
  /** Checks to leave out; they are reported as skipped. */
  readonly skip?: readonly Check[];
  /** Options of `nbdkit-ts` put before the layers (`-D`, `-v`, ...). */
  readonly serverArgs?: readonly string[];
  /** Environment of the server, added to the test's. */
  readonly env?: NodeJS.ProcessEnv;
  /** The export clients ask for (default ''). */
  readonly exportName?: string;
}

/** Options of {@link testPlugin}. */
export interface PluginSuiteOptions extends SuiteOptions {
  /** The plugin: a name the server resolves, a path, or a file URL (`new URL('../dist/index.js', import.meta.url)`). */
  readonly plugin: string | URL;
  /** The plugin's parameters. */
  readonly params?: Params;
}

/** Options of {@link testFilter}. */
export interface FilterSuiteOptions extends SuiteOptions {
  /** The filter: a name the server resolves, a path, or a file URL. */
  readonly filter: string | URL;
  /** Parameters of the filter and of the plugin. */
  readonly params?: Params;
  /** The plugin beneath (default: the testing kit's memory plugin, 16 MiB). */
  readonly plugin?: string | URL;
}

const layerArg = (layer: string | URL): string => (layer instanceof URL ? fileURLToPath(layer) : layer);

interface Stack {
  /** The command line for one check, given its parameters and fault trigger file. */
  args(spec: CheckSpec, params: readonly string[], trigger: string): string[];
}

function suite(kind: 'plugin' | 'filter', title: string, stack: Stack, params: Params | undefined, options: SuiteOptions): void {
  describe(`${kind} ${title} keeps the layer contract`, () => {
    for (const [name, spec] of checks(kind)) {
      if (options.skip?.includes(name) === true) {
        it.skip(`${name}: ${spec.title}`, () => {});
        continue;
      }
      it(`${name}: ${spec.title}`, async (ctx) => {
        const dir = tempDir('nbdkit-ts-conformance-');
        const trigger = join(dir, 'fault-trigger');
        let server: ServerProcess | undefined;
        try {
          const p = typeof params === 'function' ? await params({ dir }) : (params ?? []);
          server = await startServer([...(options.serverArgs ?? []), ...stack.args(spec, p, trigger)], { env: options.env });
          const uri = server.uriFor(options.exportName ?? '');
          const env = { NBDKIT_TS_URI: uri, NBDKIT_TS_FAULT_FILE: trigger };
          const out = await run('nbdsh', [...(spec.baseAllocation === true ? ['--base-allocation'] : []), '-u', uri, '-c', spec.script], { env });
          if (out.status !== 0) {
            const reason = out.stderr.trim().split('\n').at(-1) ?? `nbdsh exited ${out.status ?? out.signal}`;
            throw new Error(`${name}: ${reason}\n\nnbdsh said:\n${out.stderr}\nthe server said:\n${server.stderr()}`);
          }
          const skipped = /^SKIP: (.*)$/m.exec(out.stdout);
          if (skipped !== null) ctx.skip(skipped[1]);
        } finally {
          await server?.stop();
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
}

/**
 * Declares a vitest suite checking that a plugin keeps the contract every
 * layer must keep: each check starts the real `nbdkit-ts` with the plugin
 * and drives it with nbdsh. Call it at the top level of a test file.
 *
 * @example
 * ```ts
 * testPlugin({
 *   plugin: new URL('../dist/index.js', import.meta.url),
 *   params: ({ dir }) => [makeImage(join(dir, 'disk.img'))],
 * });
 * ```
 */
export function testPlugin(options: PluginSuiteOptions): void {
  const plugin = layerArg(options.plugin);
  const stack: Stack = {
    args: (spec, params) => [...(spec.readonly === true ? ['-r'] : []), plugin, ...params],
  };
  suite('plugin', options.title ?? plugin, stack, options.params, options);
}

/**
 * Declares a vitest suite checking that a filter keeps the contract every
 * layer must keep, on top of a plugin (the testing kit's memory plugin unless
 * told otherwise). For the error checks the testing kit's fault filter goes
 * right beneath the filter under test.
 *
 * @example
 * ```ts
 * testFilter({ filter: new URL('../dist/index.js', import.meta.url), params: ['offset=1M'] });
 * ```
 */
export function testFilter(options: FilterSuiteOptions): void {
  const filter = layerArg(options.filter);
  const plugin = options.plugin === undefined ? MEMORY_PLUGIN : layerArg(options.plugin);
  const stack: Stack = {
    args: (spec, params, trigger) => [
      ...(spec.readonly === true ? ['-r'] : []),
      `--filter=${filter}`,
      ...(spec.faults === true ? [`--filter=${FAULT_FILTER}`] : []),
      plugin,
      ...params,
      ...(spec.faults === true ? [`fault-file=${trigger}`] : []),
    ],
  };
  suite('filter', options.title ?? filter, stack, options.params, options);
}
