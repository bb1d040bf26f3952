/**
 * `@nbdkit-ts/plugin-eval`: a plugin written as shell script snippets on the
 * command line, one per method (`get_size='echo 64M'`), as nbdkit's eval plugin.
 *
 * @packageDocumentation
 */
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { definePlugin } from '@nbdkit-ts/core';
import { ScriptDir, ScriptMethods, scriptPlugin } from '@nbdkit-ts/plugin-sh/methods';

/** The methods a parameter may define, as nbdkit's eval plugin knows them (`missing` stands in for the others). */
const METHODS = [
  'after_fork', 'block_size', 'cache', 'can_cache', 'can_extents', 'can_fast_zero', 'can_flush', 'can_fua',
  'can_multi_conn', 'can_trim', 'can_write', 'can_zero', 'close', 'config', 'config_complete', 'default_export',
  'dump_plugin', 'export_description', 'extents', 'flush', 'get_ready', 'get_size', 'is_rotational', 'list_exports',
  'missing', 'open', 'pread', 'preconnect', 'pwrite', 'thread_model', 'trim', 'unload', 'zero',
];

/** A can_* method made for a data method given without it, as nbdkit answers for a plugin that has the call. */
const IMPLIED: readonly (readonly [method: string, can: string, script: string])[] = [
  ['pwrite', 'can_write', 'exit 0'],
  ['flush', 'can_flush', 'exit 0'],
  ['trim', 'can_trim', 'exit 0'],
  ['zero', 'can_zero', 'exit 0'],
  ['extents', 'can_extents', 'exit 0'],
  ['cache', 'can_cache', 'echo native'],
];

export default definePlugin(() => {
  let configured: { methods: ScriptMethods; dir: ScriptDir } | undefined;
  /** The scripts written so far, by method. */
  const scripts = new Map<string, string>();

  function write(dir: ScriptDir, method: string, body: string): void {
    const path = join(dir.path, method);
    // The user's missing= replaces the default one.
    rmSync(path, { force: true });
    writeFileSync(path, body === '' || body.endsWith('\n') ? body : body + '\n', { mode: 0o700 });
    chmodSync(path, 0o500);
    scripts.set(method, path);
  }

  function load(): { methods: ScriptMethods; dir: ScriptDir } {
    if (configured !== undefined) return configured;
    const dir = new ScriptDir();
    write(dir, 'missing', 'exit 2');
    const missing = scripts.get('missing') as string;
    scripts.delete('missing');
    configured = { methods: new ScriptMethods((m) => scripts.get(m) ?? missing, dir.env()), dir };
    return configured;
  }

  return scriptPlugin({
    name: 'eval',
    description: 'a plugin written as shell script snippets on the command line, one per method',
    params: METHODS.map((m) => ({ name: m, description: m === 'missing' ? 'the script for every method not given (default: exit 2)' : `the script of the ${m} method` })),
    otherParams: 'given to the config script, in order',
    missing: '',
    scripts: load,
    async config(key, value) {
      const { methods, dir } = load();
      if (METHODS.includes(key)) {
        if (scripts.has(key)) throw new Error(`method ${key} defined more than once on the command line`);
        write(dir, key, value);
        return;
      }
      const r = await methods.run('config', [key, value]);
      if (r.outcome === 'missing') throw new Error(`callback '${key}' is unknown, and there is no 'config' callback to handle it`);
    },
    beforeComplete() {
      const { dir } = load();
      for (const [method, can, script] of IMPLIED) if (scripts.has(method) && !scripts.has(can)) write(dir, can, script);
    },
  });
});
