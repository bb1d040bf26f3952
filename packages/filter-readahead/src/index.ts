/**
 * `@nbdkit-ts/filter-readahead`: on sequential reads, prefetches ahead with
 * NBD_CMD_CACHE beneath, in the background, over an adaptive window. See
 * README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { Prefetcher } from './prefetcher.js';
import { Window } from './window.js';

export default defineFilter<FilterHandle>(() => {
  let warned = false;
  return {
    apiVersion: 1,
    name: 'readahead',
    description: 'prefetch ahead of sequential reads',
    concurrency: 'parallel',
    async open(context) {
      const next = await context.openNext();
      const why =
        next.capabilities.canCache !== 'native'
          ? 'the layer beneath cannot prefetch (put --filter=cache beneath this filter)'
          : context.backend.concurrency !== 'parallel'
            ? `the layers beneath take one request at a time (${context.backend.concurrency}), so prefetches could not overlap reads`
            : undefined;
      if (why !== undefined) {
        if (!warned) context.log.warn(`not prefetching: ${why}`);
        warned = true;
        return {};
      }
      const window = new Window(next.capabilities.size);
      const prefetcher = new Prefetcher(next, context.log, () => window.reset());
      return {
        pread(buf, offset, flags) {
          const range = window.read(offset, buf.length);
          if (range !== undefined) prefetcher.start(range);
          return next.pread(buf, offset, flags);
        },
        finalize: () => prefetcher.settle(),
        close: () => prefetcher.settle(),
      };
    },
  };
});
