/**
 * `@nbdkit-ts/filter-nozero`: changes how zero requests are handled: not
 * advertised, emulated by writing zeroes, passed on without MAY_TRIM, or
 * passed on; and how fast zero requests are. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { PARAMS, ZeroModes } from './zero-modes.js';
import { zeroingHandle } from './zeroing-handle.js';

export default defineFilter<FilterHandle>(() => {
  const modes = new ZeroModes();
  return {
    apiVersion: 1,
    name: 'nozero',
    description: 'disable zero requests, emulate them by writing, or change their flags',
    params: PARAMS,
    concurrency: 'parallel',
    config(key, value) {
      modes.config(key, value);
    },
    async open(context) {
      await context.openNext();
      return zeroingHandle(context, modes);
    },
  };
});
