// A RAM disk that implements every data call, so that the error filter can be
// seen failing each of them. Parameter: size=BYTES (default 1 MiB).
import { API_VERSION, definePlugin, parseSize, toSafeNumber } from '@nbdkit-ts/core';

export default definePlugin(() => {
  let disk = new Uint8Array(1024 * 1024);
  const at = (offset) => toSafeNumber(offset, 'offset');
  return {
    apiVersion: API_VERSION,
    name: 'memory',
    params: [{ name: 'size', description: 'size of the disk', magic: true }],
    config(key, value) {
      disk = new Uint8Array(Number(parseSize(key, value)));
    },
    open() {
      return {
        capabilities: () => ({ size: BigInt(disk.length), canFua: 'native', canCache: 'native', canFastZero: true }),
        pread(buf, offset) {
          buf.set(disk.subarray(at(offset), at(offset) + buf.length));
        },
        pwrite(buf, offset) {
          disk.set(buf, at(offset));
        },
        flush() {},
        trim(count, offset) {
          disk.fill(0, at(offset), at(offset) + count);
        },
        zero(count, offset) {
          disk.fill(0, at(offset), at(offset) + count);
        },
        extents(count, offset, _flags, extents) {
          extents.add(offset, BigInt(count), 0);
        },
        cache() {},
      };
    },
  };
});
