/**
 * `@nbdkit-ts/plugin-data`: a disk in memory whose first contents are given
 * on the command line, in nbdkit's data language (`data=`), as raw bytes
 * (`raw=`) or in base64 (`base64=`).
 *
 * @packageDocumentation
 */
import { definePlugin, type PluginHandle } from '@nbdkit-ts/core';
import { memoryHandle, type Store } from '@nbdkit-ts/plugin-memory';
import { DataConfig, PARAMS } from './config.js';

export { DataError } from './data-error.js';
export { evaluate, type Variables } from './evaluate.js';
export { Image } from './image.js';
export { parse } from './parser.js';
export type { Expr, OffsetExpr, AssignExpr, ValueExpr, OffsetMode } from './ast.js';

export default definePlugin<PluginHandle>(() => {
  const config = new DataConfig();
  /** `$NAME` of data=: other parameters first, then the environment (as nbdkit). */
  const variables = new Map<string, string>();
  let store: Store | undefined;
  return {
    apiVersion: 1,
    name: 'data',
    description: 'a disk in memory, its first contents given on the command line',
    params: PARAMS,
    otherParams: 'NAME=VALUE defines $NAME for data= (before the environment does)',
    concurrency: 'parallel',
    config(key, value) {
      if (PARAMS.some((p) => p.name === key)) config.set(key, value);
      else variables.set(key, value);
    },
    configComplete() {
      if (variables.size > 0 && !config.usesData) {
        throw new Error(`${[...variables.keys()].map((k) => `${k}=`).join(', ')}: variables are for data=, and raw= or base64= was given`);
      }
      store = config.complete((name) => variables.get(name) ?? process.env[name]);
    },
    // What nbdkit's data plugin says of itself: base64= works; mlock and zstd allocators do not here.
    dumpPlugin: () => 'data_base64=yes\nmlock=no\nzstd=no',
    open() {
      return memoryHandle(store as Store);
    },
  };
});
