/**
 * `@nbdkit-ts/filter-retry-request`: retries a failed request (and a failed
 * open) on the same context, a set number of times with a pause between
 * tries. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { withRetries } from './retry.js';
import { retryingHandle } from './retrying-handle.js';
import { Settings } from './settings.js';

export default defineFilter<FilterHandle>(() => {
  const settings = new Settings();
  return {
    apiVersion: 1,
    name: 'retry-request',
    description: 'retry a failed request on the same context',
    params: Settings.params,
    concurrency: 'parallel',
    config(key, value) {
      settings.config(key, value);
    },
    async open(context) {
      if (settings.retries === 0) {
        await context.openNext();
        return {};
      }
      if (settings.retryOpen) await withRetries('open', () => context.openNext(), settings, context);
      else await context.openNext();
      return retryingHandle(context, settings);
    },
  };
});
