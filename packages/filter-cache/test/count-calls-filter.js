/**
 * A test filter that appends one line per data call passing through it to
 * count-file=PATH: the call's name, offset and count, as nbdkit's stats
 * filter counts them.
 */
import { appendFileSync } from 'node:fs';
import { defineFilter } from '@nbdkit-ts/core';

export default defineFilter(() => {
  /** @type {string | undefined} */
  let file;
  /**
   * Appends the line of one call (once configComplete checked that count-file= was given).
   * @param {string} call
   * @param {bigint | number} offset
   * @param {number} count
   */
  const log = (call, offset, count) => appendFileSync(/** @type {string} */ (file), `${call} ${offset} ${count}\n`);
  return {
    apiVersion: 1,
    name: 'count-calls',
    params: [{ name: 'count-file', description: 'file to append a line to per data call' }],
    config(_key, value) {
      file = value;
    },
    configComplete() {
      if (file === undefined) throw new Error('count-file= is required');
    },
    async open(context) {
      const next = await context.openNext();
      return {
        pread(buf, offset, flags) {
          log('pread', offset, buf.length);
          return next.pread(buf, offset, flags);
        },
        pwrite(buf, offset, flags) {
          log('pwrite', offset, buf.length);
          return next.pwrite(buf, offset, flags);
        },
        flush(flags) {
          log('flush', 0, 0);
          return next.flush(flags);
        },
        cache(count, offset, flags) {
          log('cache', offset, count);
          return next.cache(count, offset, flags);
        },
      };
    },
  };
});
