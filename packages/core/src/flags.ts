/**
 * Flags passed to data calls, as a bit set. They are the layer-level flags
 * (as in nbdkit), not the wire flags: the server translates once.
 */
export const Flag = {
  /** zero: the layer may punch a hole instead of writing zeroes. */
  MAY_TRIM: 1 << 0,
  /** pwrite/trim/zero: the data must be durable before the call returns. */
  FUA: 1 << 1,
  /** extents: one extent at the start of the range is enough. */
  REQ_ONE: 1 << 2,
  /** zero: fail with ENOTSUP at once if zeroing would be slower than a write. */
  FAST_ZERO: 1 << 3,
} as const;

/** A bit set of {@link Flag} values. */
export type Flags = number;
