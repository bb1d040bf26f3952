import { Flag, NbdkitError, type Capabilities, type Flags } from '@nbdkit-ts/core';

/**
 * A request that the current context cannot take as it is, found by the
 * filter itself: a context opened by a reopen that is smaller or can do less
 * than the first one (whose size and capabilities the client saw), or no
 * context at all after a failed reopen. Such a failure is always retried
 * (another reopen may bring the export back as it was), whatever
 * `retry-errors` says.
 */
export class Mismatch extends NbdkitError {
  override readonly name = 'Mismatch';
}

function inRange(c: Capabilities, count: number, offset: bigint, code: 'EIO' | 'ENOSPC'): void {
  if (offset + BigInt(count) > c.size) {
    throw new Mismatch(code, `request at ${offset} for ${count} bytes is beyond the end of the reopened export (${c.size} bytes)`);
  }
}

function fuaPossible(c: Capabilities, flags: Flags): void {
  if (flags & Flag.FUA && c.canFua === 'none') throw new Mismatch('EIO', 'the reopened export cannot do FUA');
}

/**
 * Checks of a request against the capabilities of the context it is about to
 * run on, one per data call, with nbdkit's retry-filter codes: a request past
 * the end fails with EIO (reads) or ENOSPC (writes); a call that is gone with
 * EROFS (writes) or EIO (others); FUA that is gone with EIO.
 */
export const checks = {
  pread(c: Capabilities, count: number, offset: bigint): void {
    inRange(c, count, offset, 'EIO');
  },
  pwrite(c: Capabilities, count: number, offset: bigint, flags: Flags): void {
    inRange(c, count, offset, 'ENOSPC');
    if (!c.canWrite) throw new Mismatch('EROFS', 'the reopened export is read-only');
    fuaPossible(c, flags);
  },
  flush(c: Capabilities): void {
    if (!c.canFlush) throw new Mismatch('EIO', 'the reopened export cannot flush');
  },
  trim(c: Capabilities, count: number, offset: bigint, flags: Flags): void {
    inRange(c, count, offset, 'ENOSPC');
    if (!c.canTrim) throw new Mismatch('EROFS', 'the reopened export cannot trim');
    fuaPossible(c, flags);
  },
  zero(c: Capabilities, count: number, offset: bigint, flags: Flags): void {
    inRange(c, count, offset, 'ENOSPC');
    if (c.canZero === 'none') throw new Mismatch('EROFS', 'the reopened export cannot zero');
    fuaPossible(c, flags);
  },
  extents(c: Capabilities, count: number, offset: bigint): void {
    inRange(c, count, offset, 'EIO');
    if (!c.canExtents) throw new Mismatch('EIO', 'the reopened export cannot report extents');
  },
  cache(c: Capabilities, count: number, offset: bigint): void {
    inRange(c, count, offset, 'EIO');
    if (c.canCache === 'none') throw new Mismatch('EIO', 'the reopened export cannot cache');
  },
};
