/**
 * A test filter declaring serialize-requests, as a layer that takes one call
 * at a time does. It passes every data call on after a turn of the event
 * loop, as a layer over the network would, and writes the largest number of
 * calls it has had in flight at once to in-flight-file=PATH.
 */
import { writeFileSync } from 'node:fs';
import { setImmediate as turn } from 'node:timers/promises';
import { API_VERSION, defineFilter } from '@nbdkit-ts/core';
/** @import { MaybePromise } from '@nbdkit-ts/core' */

export default defineFilter(() => {
  /** @type {string | undefined} */
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
      const path = /** @type {string} */ (file); // configComplete checked that it was given
      /**
       * `call`, counted while in flight, after a turn of the event loop.
       * @template {unknown[]} A
       * @param {(...args: A) => MaybePromise<void>} call
       * @returns {(...args: A) => Promise<void>}
       */
      const counted =
        (call) =>
        async (...args) => {
          inFlight++;
          if (inFlight > most) writeFileSync(path, String((most = inFlight)));
          try {
            await turn();
            await call(...args);
          } finally {
            inFlight--;
          }
        };
      return {
        pread: counted(next.pread.bind(next)),
        pwrite: counted(next.pwrite.bind(next)),
        flush: counted(next.flush.bind(next)),
        trim: counted(next.trim.bind(next)),
        zero: counted(next.zero.bind(next)),
        extents: counted(next.extents.bind(next)),
        cache: counted(next.cache.bind(next)),
      };
    },
  };
});
