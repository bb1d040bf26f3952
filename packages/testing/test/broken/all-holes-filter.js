// Reports every range as a hole of zeroes, data or not: "extents" must notice.
import { API_VERSION, defineFilter, ExtentType } from '@nbdkit-ts/core';

export default defineFilter({
  apiVersion: API_VERSION,
  name: 'all-holes',
  async open(ctx) {
    await ctx.openNext();
    return {
      extents(count, offset, _flags, extents) {
        extents.add(offset, BigInt(count), ExtentType.HOLE | ExtentType.ZERO);
      },
    };
  },
});
