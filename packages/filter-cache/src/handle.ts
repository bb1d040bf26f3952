import type { FilterHandle } from '@nbdkit-ts/core';
import type { Cache } from './cache.js';

/**
 * A connection's handle: every call goes to the one cache. A connection that
 * closes while blocks are dirty writes them back (with cache=writeback) and
 * flushes, as a flush request would.
 */
export function cacheHandle(cache: Cache, writeBackOnClose: boolean): FilterHandle {
  return {
    capabilities: () => cache.capabilities(),
    pread: (buf, offset) => cache.pread(buf, offset),
    pwrite: (buf, offset, flags) => cache.pwrite(buf, offset, flags),
    flush: () => cache.flush(),
    trim: (count, offset, flags) => cache.trim(count, offset, flags),
    zero: (count, offset, flags) => cache.zero(count, offset, flags),
    extents: (count, offset, flags, extents) => cache.extents(count, offset, flags, extents),
    cache: (count, offset) => cache.cache(count, offset),
    finalize: () => (writeBackOnClose && cache.dirty ? cache.flush() : undefined),
  };
}
