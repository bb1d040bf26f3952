import type { PluginHandle } from '@nbdkit-ts/core';
import type { Store } from './store.js';

/**
 * A handle on a store in memory. Every call is synchronous (a request costs
 * no promise); flush, FUA and cache have nothing to do, since what is
 * written is at once seen by every connection and nothing is on disk.
 */
export function memoryHandle(store: Store): PluginHandle {
  return {
    capabilities: () => ({ size: store.size, canFua: 'native', canCache: 'native', canFastZero: true, canMultiConn: true }),
    pread: (buf, offset) => store.read(buf, offset),
    pwrite: (buf, offset) => store.write(buf, offset),
    flush: () => {},
    trim: (count, offset) => store.zero(count, offset),
    zero: (count, offset) => store.zero(count, offset),
    extents: (count, offset, flags, extents) => store.extents(count, offset, flags, extents),
    cache: () => {},
  };
}
