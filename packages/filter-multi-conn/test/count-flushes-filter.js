/**
 * A test filter that appends one line to count-flushes-file=PATH for every
 * flush that passes through it, like nbdkit's stats filter counts them.
 */
import { appendFileSync } from 'node:fs';
import { API_VERSION, defineFilter } from '@nbdkit-ts/core';

export default defineFilter(() => {
  /** @type {string | undefined} */
  let file;
  return {
    apiVersion: API_VERSION,
    name: 'count-flushes',
    params: [{ name: 'count-flushes-file', description: 'file to append a line to per flush' }],
    config(_key, value) {
      file = value;
    },
    configComplete() {
      if (file === undefined) throw new Error('count-flushes-file= is required');
    },
    async open(context) {
      const next = await context.openNext();
      const path = /** @type {string} */ (file); // configComplete checked that it was given
      return {
        flush(flags) {
          appendFileSync(path, 'flush\n');
          return next.flush(flags);
        },
      };
    },
  };
});
