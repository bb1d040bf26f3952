// A layer that can take one call at a time in the whole server (serialize-all-requests):
// each call takes a few milliseconds, and a call that starts while another one is running,
// on any of its contexts, fails with EIO "overlap".
import { defineFilter, nbdError } from '@nbdkit-ts/core';
/** @import { MaybePromise } from '@nbdkit-ts/core' */

export default defineFilter(() => {
  let running = 0;
  /**
   * Runs `call`, or fails when another call is running.
   * @param {() => MaybePromise<void>} call
   */
  const once = async (call) => {
    if (running > 0) throw nbdError('EIO', 'overlap: a call started while another was running');
    running++;
    try {
      await new Promise((resolve) => setTimeout(resolve, 2));
      await call();
    } finally {
      running--;
    }
  };
  return {
    apiVersion: 1,
    name: 'overlap-check',
    concurrency: 'serialize-all-requests',
    async open(context) {
      const next = await context.openNext();
      return {
        pread: (buf, offset, flags) => once(() => next.pread(buf, offset, flags)),
        pwrite: (buf, offset, flags) => once(() => next.pwrite(buf, offset, flags)),
        cache: (count, offset, flags) => once(() => next.cache(count, offset, flags)),
        extents: (count, offset, flags, extents) => once(() => next.extents(count, offset, flags, extents)),
      };
    },
  };
});
