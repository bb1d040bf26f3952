/**
 * `@nbdkit-ts/filter-offset`: serves a window of the disk beneath, from
 * `offset=` for `range=` bytes. See README.md for the manual.
 *
 * The window handle is exported for filters that serve a window they find
 * themselves (the partition filter).
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { OffsetRange } from './offset-range.js';
import { windowHandle } from './window.js';

export { windowHandle, type Window } from './window.js';

export default defineFilter<FilterHandle>(() => {
  const range = new OffsetRange();
  return {
    apiVersion: 1,
    name: 'offset',
    description: 'serve a window of the disk beneath: from an offset, for a length',
    params: OffsetRange.params,
    concurrency: 'parallel',
    config(key, value) {
      range.config(key, value);
    },
    async open(context) {
      // The window is checked per connection, against the size beneath when it is opened.
      const next = await context.openNext();
      return windowHandle(next, range.windowOver(next.capabilities.size));
    },
  };
});
