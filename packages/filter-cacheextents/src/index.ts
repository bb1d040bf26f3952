/**
 * `@nbdkit-ts/filter-cacheextents`: keeps the last block status answer of
 * the layer beneath and answers later queries it covers from it, until a
 * write, trim or zero. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { cachingHandle } from './caching-handle.js';
import { ExtentsCache } from './extents-cache.js';

export default defineFilter<FilterHandle>(() => {
  const cache = new ExtentsCache();
  return {
    apiVersion: 1,
    name: 'cacheextents',
    description: 'keep the last block status answer, for clients that ask for one extent at a time',
    concurrency: 'parallel',
    async open(context) {
      await context.openNext();
      return cachingHandle(context, cache);
    },
  };
});
