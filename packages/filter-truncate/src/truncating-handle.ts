import { ExtentList, ExtentType, Flag, nbdError, type FilterHandle, type Next } from '@nbdkit-ts/core';
import { isZero } from './is-zero.js';

/**
 * The handle of one connection: an export of `size` bytes over `next`, the
 * Next associated with the connection, whose own size (read once, when it
 * was opened) is what lies beneath. The part of a call within that goes to
 * `next`; beyond it the export is a hole of zeroes. Flush passes through.
 */
export function truncatingHandle(next: Next, size: bigint): FilterHandle {
  const real = next.capabilities.size;
  /** How many of the `count` bytes at `offset` lie on the disk beneath. */
  const beneath = (count: number, offset: bigint): number => {
    if (offset >= real) return 0;
    return offset + BigInt(count) <= real ? count : Number(real - offset);
  };
  return {
    // Zeroing the tail is free, so fast zero is honoured there; the part beneath is checked in zero.
    capabilities: () => ({ size, canExtents: true, canFastZero: true }),
    async pread(buf, offset, flags) {
      const n = beneath(buf.length, offset);
      if (n > 0) await next.pread(buf.subarray(0, n), offset, flags);
      buf.fill(0, n);
    },
    async pwrite(buf, offset, flags) {
      const n = beneath(buf.length, offset);
      // Checked first, so that a refused write changes nothing.
      if (!isZero(buf.subarray(n))) {
        throw nbdError('ENOSPC', `truncate: write of non-zero data beyond the end of the disk beneath (${real} bytes)`);
      }
      if (n > 0) await next.pwrite(buf.subarray(0, n), offset, flags);
    },
    async trim(count, offset, flags) {
      const n = beneath(count, offset);
      if (n > 0) await next.trim(n, offset, flags);
    },
    async zero(count, offset, flags) {
      const n = beneath(count, offset);
      if (n === 0) return;
      if (flags & Flag.FAST_ZERO && !next.capabilities.canFastZero) throw nbdError('ENOTSUP', 'truncate: the disk beneath cannot zero fast');
      await next.zero(n, offset, flags);
    },
    async cache(count, offset, flags) {
      const n = beneath(count, offset);
      if (n > 0) await next.cache(n, offset, flags);
    },
    async extents(count, offset, flags, extents) {
      if (offset < real) {
        const n = beneath(count, offset);
        const below = new ExtentList(offset, offset + BigInt(n));
        await next.extents(n, offset, flags, below);
        for (const e of below.extents) extents.add(e.offset, e.length, e.type);
        // The disk beneath may have answered for a prefix only: the client asks again for the rest.
        if (below.covered < real) return;
      }
      extents.add(real, size - real, ExtentType.HOLE | ExtentType.ZERO);
    },
  };
}
