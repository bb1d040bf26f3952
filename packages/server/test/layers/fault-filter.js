// A filter that throws from its own pread at offset 0, for the server's fault tests.
import { API_VERSION, defineFilter } from '@nbdkit-ts/core';

export default defineFilter({
  apiVersion: API_VERSION,
  name: 'faultfilter',
  async open(ctx) {
    const next = await ctx.openNext();
    return {
      pread(buf, offset, flags) {
        if (offset === 0n) throw new RangeError('filter arithmetic went wrong');
        return next.pread(buf, offset, flags);
      },
    };
  },
});
