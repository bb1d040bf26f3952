/**
 * `@nbdkit-ts/filter-nocache`: changes how cache (prefetch) requests are
 * handled: not advertised, emulated by reading, or accepted and ignored.
 * See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { PARAMS, parseCacheMode, type CacheMode } from './cache-mode.js';

/** The cache support each mode advertises ('emulate': the server reads the range through the filter). */
const SUPPORT = { none: 'none', emulate: 'emulate', nop: 'native' } as const;

export default defineFilter<FilterHandle>(() => {
  let mode: CacheMode = 'none';
  return {
    apiVersion: 1,
    name: 'nocache',
    description: 'disable cache requests, emulate them by reading, or ignore them',
    params: PARAMS,
    concurrency: 'parallel',
    config(key, value) {
      mode = parseCacheMode(key, value);
    },
    async open(context) {
      await context.openNext();
      const handle: FilterHandle = { capabilities: () => ({ canCache: SUPPORT[mode] }) };
      // Only 'nop' reaches the filter's cache: the server refuses it under 'none' and reads under 'emulate'.
      if (mode === 'nop') handle.cache = () => {};
      return handle;
    },
  };
});
