/**
 * `@nbdkit-ts/filter-multi-conn`: advertises NBD multi-conn for any plugin
 * and makes it safe, by turning one client's flush into a flush of every
 * context that needs it. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter } from '@nbdkit-ts/core';
import { Registry } from './group.js';
import { MultiConnHandle } from './handle.js';
import { Mutex } from '@nbdkit-ts/core';
import { applyParam, defaultSettings, PARAMS } from './settings.js';

export type { Mode, TrackDirty } from './settings.js';

export default defineFilter<MultiConnHandle>(() => {
  const settings = defaultSettings();
  const registry = new Registry();
  return {
    apiVersion: 1,
    name: 'multi-conn',
    description: 'enable, emulate or disable NBD multi-conn',
    params: PARAMS,
    concurrency: 'parallel',
    config(key, value) {
      applyParam(settings, key, value);
    },
    async open(context) {
      const next = await context.openNext();
      const lock = context.backend.concurrency === 'serialize-requests' ? new Mutex() : undefined;
      return new MultiConnHandle(settings, registry, context, next, lock);
    },
  };
});
