/**
 * `@nbdkit-ts/plugin-pattern`: a read-only disk whose every 8 bytes hold
 * their own offset, big-endian, as nbdkit's pattern plugin.
 *
 * @packageDocumentation
 */
import { definePlugin, parseSize, type PluginHandle } from '@nbdkit-ts/core';
import { fillPattern } from './pattern.js';

export { fillPattern } from './pattern.js';

export default definePlugin<PluginHandle>(() => {
  let size: bigint | undefined;
  return {
    apiVersion: 1,
    name: 'pattern',
    description: 'a read-only disk whose every 8 bytes hold their offset, big-endian',
    params: [{ name: 'size', description: 'size of the disk (required): 1048576, 64K, 1G, ... up to 2^63-1', magic: true }],
    concurrency: 'parallel',
    config(key, value) {
      size = parseSize(key, value);
    },
    configComplete() {
      if (size === undefined) throw new Error('size= is required: the size of the disk (nbdkit-ts pattern 1G)');
    },
    open: () => ({
      capabilities: () => ({ size: size ?? 0n, canCache: 'native', canMultiConn: true }),
      pread: (buf, offset) => fillPattern(buf, offset),
      cache: () => {},
    }),
  };
});
