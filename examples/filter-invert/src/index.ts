/**
 * `nbdkit-ts-filter-invert`: inverts every byte of the disk beneath (XOR
 * 0xff), on reads and on writes, so that the export reads back what was
 * written. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { invertingHandle } from './inverting-handle.js';

// No parameters, so no configuration to keep: an object does instead of a factory.
export default defineFilter<FilterHandle>({
  // The API version this layer was written for, as a literal: the server refuses it when
  // it implements another one (API_VERSION would always agree with the core installed).
  apiVersion: 1,
  name: 'invert',
  description: 'invert every byte of the disk beneath (XOR 0xff), on reads and on writes',
  concurrency: 'parallel',
  async open(context) {
    return invertingHandle(await context.openNext());
  },
});
