/**
 * `@nbdkit-ts/filter-truncate`: changes the size of the disk beneath —
 * truncates it, extends it with zeroes, or rounds its size up or down to a
 * multiple of a power of two. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { SizeRule } from './size-rule.js';
import { truncatingHandle } from './truncating-handle.js';

export default defineFilter<FilterHandle>(() => {
  const rule = new SizeRule();
  return {
    apiVersion: 1,
    name: 'truncate',
    description: 'change the size of the disk beneath: truncate, extend with zeroes, round up or down',
    params: SizeRule.params,
    concurrency: 'parallel',
    config(key, value) {
      rule.config(key, value);
    },
    async open(context) {
      // The size is computed per connection, from the size beneath when it is opened.
      const next = await context.openNext();
      return truncatingHandle(next, rule.sizeOver(next.capabilities.size));
    },
  };
});
