/**
 * `@nbdkit-ts/filter-fua`: changes how FUA (force unit access) and flush
 * are advertised and passed on. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { fuaHandle } from './fua-handle.js';
import { PARAMS, parseFuaMode, type FuaMode } from './fua-mode.js';

export default defineFilter<FilterHandle>(() => {
  let mode: FuaMode = 'none';
  return {
    apiVersion: 1,
    name: 'fua',
    description: 'change how FUA (force unit access) and flush are advertised and passed on',
    params: PARAMS,
    concurrency: 'parallel',
    config(key, value) {
      mode = parseFuaMode(key, value);
    },
    async open(context) {
      await context.openNext();
      return fuaHandle(context, mode);
    },
  };
});
