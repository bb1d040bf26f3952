/**
 * `@nbdkit-ts/filter-delay`: delays requests by a fixed time per kind of
 * call, to make any plugin behave like a slow or remote disk. See README.md
 * for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { delayingHandle } from './handle.js';
import { PARAMS, Settings } from './settings.js';
import { Sleeper } from './sleep.js';

export default defineFilter<FilterHandle>(() => {
  const settings = new Settings();
  /** Waits that only the server's shutdown ends (delay-close). */
  let server: Sleeper | undefined;
  return {
    apiVersion: 1,
    name: 'delay',
    description: 'delay requests, to simulate a slow or remote disk',
    params: PARAMS,
    concurrency: 'parallel',
    config(key, value) {
      settings.config(key, value);
    },
    ready(_backend, host) {
      server = new Sleeper(host.signal, host.log);
    },
    async open(context) {
      const sleeper = new Sleeper(context.signal, context.log);
      if (settings.delays.open > 0) await sleeper.sleep(settings.delays.open, 'open');
      await context.openNext();
      return delayingHandle(context, settings, sleeper, server as Sleeper);
    },
  };
});
