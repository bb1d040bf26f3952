import { type Concurrency, type ParamSpec, type PluginSpec } from '@nbdkit-ts/core';
import { MAX_KNOWN_STATUS } from './exit-status.js';
import type { ScriptDir } from './script-dir.js';
import type { ScriptMethods } from './script-methods.js';

/** What sh and eval do each their own way: how parameters become scripts. */
export interface ScriptPluginParts {
  readonly name: string;
  readonly description: string;
  readonly params: readonly ParamSpec[];
  readonly otherParams: string;
  config(key: string, value: string): Promise<void>;
  /** At the end of configuration, before config_complete runs. */
  beforeComplete?(): void;
  /** The scripts, once configuration made them. */
  scripts(): { readonly methods: ScriptMethods; readonly dir: ScriptDir } | undefined;
  /** What to say when configuration ended without them. */
  readonly missing: string;
}

/**
 * A plugin whose every hook after configuration runs a script method, as
 * nbdkit's sh and eval plugins do: config_complete and thread_model at the
 * end of configuration, get_ready and after_fork when the server is ready,
 * unload at cleanup (its errors ignored), then the temporary directory goes.
 */
export function scriptPlugin(parts: ScriptPluginParts): PluginSpec {
  let concurrency: Concurrency = 'serialize-all-requests';
  const scripts = () => {
    const s = parts.scripts();
    if (s === undefined) throw new Error(parts.missing);
    return s;
  };
  return {
    apiVersion: 1,
    name: parts.name,
    description: parts.description,
    params: parts.params,
    otherParams: parts.otherParams,
    get concurrency() {
      return concurrency;
    },
    config: (key, value) => parts.config(key, value),
    async configComplete() {
      parts.beforeComplete?.();
      const { methods } = scripts();
      await methods.run('config_complete');
      concurrency = await methods.concurrency();
    },
    async ready(host) {
      const { methods } = scripts();
      methods.host = host;
      await methods.run('get_ready');
      await methods.run('after_fork');
    },
    async preconnect(client) {
      await scripts().methods.run('preconnect', [client.readonly ? 'true' : 'false']);
    },
    async dumpPlugin() {
      const lines = [`max_known_status=${MAX_KNOWN_STATUS}`];
      const configured = parts.scripts();
      if (configured !== undefined) {
        const r = await configured.methods.run('dump_plugin');
        if (r.outcome === 'ok') lines.push(r.stdout.toString().replace(/\n$/, ''));
      }
      return lines.join('\n');
    },
    listExports: (client) => scripts().methods.listExports(client),
    defaultExport: (client) => scripts().methods.defaultExport(client),
    open: (info) => scripts().methods.open(info),
    async cleanup() {
      const configured = parts.scripts();
      if (configured === undefined) return;
      const { methods, dir } = configured;
      await methods.call('unload').catch((e: unknown) => methods.host?.log.error(e instanceof Error ? e.message : String(e)));
      dir.remove();
    },
  };
}
