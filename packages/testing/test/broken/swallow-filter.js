// Hides the errors of the layer beneath: "errors" must notice.
import { API_VERSION, defineFilter } from '@nbdkit-ts/core';
/** @import { MaybePromise } from '@nbdkit-ts/core' */

export default defineFilter({
  apiVersion: API_VERSION,
  name: 'swallow',
  async open(ctx) {
    const next = await ctx.openNext();
    /** @param {() => MaybePromise<void>} call */
    const quietly = async (call) => {
      try {
        await call();
      } catch {
        // the bug under test
      }
    };
    return {
      pread: (buf, offset, flags) => quietly(() => next.pread(buf, offset, flags)),
      pwrite: (buf, offset, flags) => quietly(() => next.pwrite(buf, offset, flags)),
      flush: (flags) => quietly(() => next.flush(flags)),
    };
  },
});
