/**
 * A test filter declaring serialize-requests, as a layer that takes one call
 * at a time does. It passes every data call on after a turn of the event
 * loop, as a layer over the network would, and writes the largest number of
 * calls it has had in flight at once to in-flight-file=PATH.
 */
import { writeFileSync } from 'node:fs';
import { setImmediate as turn } from 'node:timers/promises';
import { API_VERSION, DATA_METHODS, defineFilter } from '@nbdkit-ts/core';

export default defineFilter(() => {
  let file;
  let inFlight = 0;
  let most = 0;
  return {
    apiVersion: API_VERSION,
    name: 'in-flight',
    concurrency: 'serialize-requests',
    params: [{ name: 'in-flight-file', description: 'file the largest number of calls in flight at once is written to' }],
    config(_key, value) {
      file = value;
    },
    configComplete() {
      if (file === undefined) throw new Error('in-flight-file= is required');
    },
    async open(context) {
      const next = await context.openNext();
      const counted =
        (method) =>
        async (...args) => {
          inFlight++;
          if (inFlight > most) writeFileSync(file, String((most = inFlight)));
          try {
            await turn();
            return await next[method](...args);
          } finally {
            inFlight--;
          }
        };
      return Object.fromEntries(DATA_METHODS.map((method) => [method, counted(method)]));
    },
  };
});
