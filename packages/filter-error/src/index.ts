import { defineFilter, seededRandom, type FilterHandle } from '@nbdkit-ts/core';
import { injectingHandle } from './handle.js';
import { Injector } from './injector.js';
import { randomSeed } from './random.js';
import { Settings } from './settings.js';

/**
 * The error filter: fails data calls on purpose, at a given rate, with a
 * given error, optionally only while a trigger file exists. For testing how
 * clients and other filters (such as reopen) cope with faults.
 */
export default defineFilter<FilterHandle>(() => {
  const settings = new Settings();
  let injector: Injector | undefined;
  return {
    apiVersion: 1,
    name: 'error',
    description: 'inject errors into data calls, for testing',
    params: Settings.params(),
    concurrency: 'parallel',
    config(key, value) {
      settings.config(key, value);
    },
    ready(_backend, host) {
      const seed = settings.seed ?? randomSeed();
      host.log.debug(`random seed ${seed} (repeat this run with error-seed=${seed})`);
      injector = new Injector(settings, seededRandom(seed), host.log);
    },
    async open(context) {
      await context.openNext();
      return injectingHandle(context, injector as Injector);
    },
  };
});
