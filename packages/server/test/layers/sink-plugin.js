// A 1 TiB export that drops writes and reads as zeroes: the server's own
// memory is all that a test of its buffering measures.
import { API_VERSION, definePlugin } from '@nbdkit-ts/core';

export default definePlugin({
  apiVersion: API_VERSION,
  name: 'sink',
  open: () => ({
    capabilities: () => ({ size: 1n << 40n, canMultiConn: true }),
    pread(buf) {
      buf.fill(0);
    },
    pwrite() {},
    flush() {},
  }),
});
