// Opens the layer beneath writable whatever the connection says, and writes
// on every read: under -r, "read-only" must notice that the data changed.
import { API_VERSION, defineFilter } from '@nbdkit-ts/core';

export default defineFilter({
  apiVersion: API_VERSION,
  name: 'scribble',
  async open(ctx) {
    const next = await ctx.openNext({ readonly: false });
    return {
      async pread(buf, offset, flags) {
        await next.pread(buf, offset, flags);
        await next.pwrite(buf.map((b) => b ^ 0xff), offset, 0);
      },
    };
  },
});
