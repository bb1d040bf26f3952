/**
 * `@nbdkit-ts/plugin-null`: a disk that reads as zeroes and discards what is
 * written, as nbdkit's null plugin.
 *
 * @packageDocumentation
 */
import { definePlugin, ExtentType, parseSize, type PluginHandle } from '@nbdkit-ts/core';

export default definePlugin<PluginHandle>(() => {
  let size = 0n;
  return {
    apiVersion: 1,
    name: 'null',
    description: 'a disk that reads as zeroes and discards what is written',
    params: [{ name: 'size', description: 'size of the disk (default 0): 1048576, 64K, 1G, ... up to 2^63-1', magic: true }],
    concurrency: 'parallel',
    config(key, value) {
      size = parseSize(key, value);
    },
    open: () => ({
      capabilities: () => ({ size, canFua: 'native', canCache: 'native', canFastZero: true, canMultiConn: true }),
      pread: (buf) => void buf.fill(0),
      pwrite: () => {},
      flush: () => {},
      trim: () => {},
      zero: () => {},
      extents: (count, offset, _flags, extents) => extents.add(offset, BigInt(count), ExtentType.HOLE | ExtentType.ZERO),
      cache: () => {},
    }),
  };
});
