// Zeroes 512 bytes more than asked: "zero" must notice the damaged neighbour.
import { API_VERSION, defineFilter } from '@nbdkit-ts/core';

export default defineFilter({
  apiVersion: API_VERSION,
  name: 'spill',
  async open(ctx) {
    const next = await ctx.openNext();
    return {
      zero(count, offset, flags) {
        const room = Number(next.capabilities.size - offset);
        return next.zero(Math.min(count + 512, room), offset, flags);
      },
    };
  },
});
