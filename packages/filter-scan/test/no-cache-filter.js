// A layer that cannot cache: it says so, whatever the layer beneath it can do.
import { defineFilter } from '@nbdkit-ts/core';

export default defineFilter({
  apiVersion: 1,
  name: 'no-cache',
  async open(context) {
    await context.openNext();
    return { capabilities: () => ({ canCache: 'none' }) };
  },
});
