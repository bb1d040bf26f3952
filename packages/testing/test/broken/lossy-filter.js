// Drops every write: "read-after-write" must notice.
import { API_VERSION, defineFilter } from '@nbdkit-ts/core';

export default defineFilter({
  apiVersion: API_VERSION,
  name: 'lossy',
  async open(ctx) {
    await ctx.openNext();
    return { pwrite() {} };
  },
});
