import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { openWithRetries } from './open.js';
import { Settings } from './settings.js';

/**
 * The reopen filter: when a request fails, it opens a fresh context on the
 * layer beneath, swaps it in for the connection and retries the request, so
 * the client does not see a passing fault. Put it closest to the plugin.
 */
export default defineFilter<FilterHandle>(() => {
  const settings = new Settings();
  return {
    apiVersion: 1,
    name: 'reopen',
    description: 'retry failed requests on a freshly opened context',
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
      return openWithRetries(context, settings);
    },
  };
});
