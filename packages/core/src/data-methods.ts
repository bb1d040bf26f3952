import type { ExtentList } from './extents.js';
import type { Flags } from './flags.js';
import type { MaybePromise } from './maybe-promise.js';

/**
 * The data calls of an open context. Offsets are bigint (the wire is u64),
 * counts are numbers (u32). The caller owns `buf`: `pread` fills all of it,
 * `pwrite` writes all of it, and neither touches it once its call has
 * settled (the server reuses the memory). Failures are thrown as errors with an
 * errno-style `code` (see {@link NbdkitError}).
 */
export interface DataMethods {
  /** Reads `buf.length` bytes at `offset` into `buf`. */
  pread(buf: Uint8Array, offset: bigint, flags: Flags): MaybePromise<void>;
  /** Writes `buf` at `offset`. Flag.FUA: durable before returning. */
  pwrite(buf: Uint8Array, offset: bigint, flags: Flags): MaybePromise<void>;
  /** Makes every completed write durable. */
  flush(flags: Flags): MaybePromise<void>;
  /** Discards `count` bytes at `offset` (their contents become unspecified). */
  trim(count: number, offset: bigint, flags: Flags): MaybePromise<void>;
  /** Makes `count` bytes at `offset` read as zeroes. Flag.MAY_TRIM, Flag.FAST_ZERO, Flag.FUA apply. */
  zero(count: number, offset: bigint, flags: Flags): MaybePromise<void>;
  /**
   * Reports allocation of `count` bytes at `offset` into `extents`, whose
   * range may run past `offset + count` (for a client's request, to the end
   * of the export; see {@link ExtentList}). Flag.REQ_ONE: one extent is enough.
   */
  extents(count: number, offset: bigint, flags: Flags, extents: ExtentList): MaybePromise<void>;
  /** Prefetches `count` bytes at `offset`. */
  cache(count: number, offset: bigint, flags: Flags): MaybePromise<void>;
}

/** The names of the data calls, in a fixed order. */
export const DATA_METHODS = ['pread', 'pwrite', 'flush', 'trim', 'zero', 'extents', 'cache'] as const;
