/**
 * `nbdkit-ts-filter-offset`: serve a window of the disk beneath, from
 * `offset=` for `range=` bytes (a partition, a region of a larger image).
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { Window } from './window.js';
import { windowHandle } from './window-handle.js';

export default defineFilter<FilterHandle>(() => {
  const window = new Window();
  return {
    // The API version this layer was written for, as a literal: the server refuses it when
    // it implements another one (API_VERSION would always agree with the core installed).
    apiVersion: 1,
    name: 'offset',
    description: 'serve a window of the disk beneath: from an offset, for a length',
    params: Window.params,
    concurrency: 'parallel',
    config(key, value) {
      window.config(key, value);
    },
    async open(context) {
      await context.openNext();
      return windowHandle(context, window);
    },
  };
});
