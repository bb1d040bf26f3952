/**
 * `@nbdkit-ts/plugin-sh`: a plugin written as a script, or any executable,
 * called as `SCRIPT METHOD ARGS...` for every method, as nbdkit's sh plugin.
 *
 * @packageDocumentation
 */
import { chmodSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { definePlugin } from '@nbdkit-ts/core';
import { ScriptDir } from './script-dir.js';
import { ScriptMethods } from './script-methods.js';
import { scriptPlugin } from './script-plugin.js';

export default definePlugin(() => {
  let configured: { methods: ScriptMethods; dir: ScriptDir } | undefined;
  let magicKey: string | undefined;

  /** The script named by `script=`, or read from stdin for `-`, and its load and magic_config_key. */
  async function load(value: string): Promise<void> {
    const dir = new ScriptDir();
    let script: string;
    try {
      script = value === '-' ? inlineScript(dir) : realpathSync(value);
    } catch (e) {
      dir.remove();
      throw new Error(`script=${value}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const methods = new ScriptMethods(() => script, dir.env());
    configured = { methods, dir };
    await methods.run('load');
    const magic = await methods.run('magic_config_key');
    if (magic.outcome === 'ok') magicKey = magic.stdout.toString().replace(/\n$/, '');
  }

  return scriptPlugin({
    name: 'sh',
    description: 'a plugin written as a script: SCRIPT METHOD ARGS... for every method',
    params: [{ name: 'script', description: 'the script or executable to run, or - to read a shell script from stdin (required, first)', magic: true }],
    otherParams: "the script's own parameters, given to its config method in order",
    missing: 'missing script parameter',
    scripts: () => configured,
    async config(key, value) {
      if (configured === undefined) {
        if (key !== 'script') throw new Error('the first parameter must be script=/path/to/script');
        return load(value);
      }
      const { methods } = configured;
      let k = key;
      if (k === 'script') {
        if (magicKey === undefined) throw new Error(`expecting key=value on the command line but got: ${value}`);
        k = magicKey;
      }
      const r = await methods.run('config', [k, value]);
      if (r.outcome === 'missing') throw new Error(`${k}=${value}: this plugin does not need command line configuration`);
    },
  });
});

/** Copies a script given on stdin into the scripts' directory, executable. */
function inlineScript(dir: ScriptDir): string {
  const path = join(dir.path, 'inline-script.sh');
  writeFileSync(path, readFileSync(0));
  chmodSync(path, 0o500);
  return path;
}
