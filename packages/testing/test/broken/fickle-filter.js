// Says the disk is rotational on every other connection: "capabilities" must notice.
import { API_VERSION, defineFilter } from '@nbdkit-ts/core';

export default defineFilter(() => {
  let opens = 0;
  return {
    apiVersion: API_VERSION,
    name: 'fickle',
    async open(ctx) {
      await ctx.openNext();
      const rotational = opens++ % 2 === 1;
      return { capabilities: () => ({ isRotational: rotational }) };
    },
  };
});
