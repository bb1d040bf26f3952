// Advertises multi-conn but gives each connection a disk of its own:
// "multi-conn" must notice.
import { API_VERSION, definePlugin, toSafeNumber } from '@nbdkit-ts/core';

export default definePlugin({
  apiVersion: API_VERSION,
  name: 'private',
  open() {
    const disk = new Uint8Array(1024 * 1024);
    const at = (/** @type {bigint} */ offset) => toSafeNumber(offset);
    return {
      capabilities: () => ({ size: BigInt(disk.length), canMultiConn: true }),
      pread(buf, offset) {
        buf.set(disk.subarray(at(offset), at(offset) + buf.length));
      },
      pwrite(buf, offset) {
        disk.set(buf, at(offset));
      },
      flush() {},
    };
  },
});
