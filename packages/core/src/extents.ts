import { nbdError } from './errors.js';

/** Extent type bits, the `base:allocation` meta context flags of the NBD protocol. */
export const ExtentType = {
  /** Allocated data (no bits set). */
  DATA: 0,
  /** NBD_STATE_HOLE: the range is not allocated. */
  HOLE: 1 << 0,
  /** NBD_STATE_ZERO: the range reads as zeroes. */
  ZERO: 1 << 1,
} as const;

/** One extent: `length` bytes from `offset`, of `type` (a set of {@link ExtentType} bits). */
export interface Extent {
  /** First byte of the extent. */
  readonly offset: bigint;
  /** Length of the extent in bytes. */
  readonly length: bigint;
  /** A set of {@link ExtentType} bits. */
  readonly type: number;
}

/** The most extents a list keeps, as nbdkit: the most the NBD protocol wants in one reply (a SHOULD). */
const MAX_EXTENTS = 1 << 20;

/**
 * Collects the extents a layer reports for the range `[start, end)`.
 *
 * Rules, as in nbdkit: extents are added in ascending order and contiguous;
 * the first one must begin at or before `start`; parts before `start` are
 * dropped, parts at or after `end` are ignored; empty extents are ignored;
 * neighbours of the same type are merged; once the list holds 2^20 extents,
 * later ones are ignored. A layer may stop after covering any prefix of the
 * range (at least one byte); the caller asks again for the rest.
 *
 * The list the server passes for a block status request runs from the
 * request's offset to the end of the export, as nbdkit's does: a layer may
 * report beyond the request what it learnt anyway (the whole of the last
 * extent), and the client hears of it. The server sends the client the
 * extents up to the first one that reaches the end of the request, each
 * of at most 4 GiB - 1 bytes; with REQ_ONE, only the first, cut at the end
 * of the request.
 */
export class ExtentList {
  /** The extents collected so far, trimmed to the range and merged. */
  readonly extents: Extent[] = [];
  /** End of the last extent added (before trimming), or undefined before the first. */
  private next: bigint | undefined;

  /**
   * @param start First byte of the range asked about.
   * @param end One past the last byte of the range.
   */
  constructor(
    readonly start: bigint,
    readonly end: bigint,
  ) {
    if (end < start) throw nbdError('EINVAL', `extent range ends (${end}) before it starts (${start})`);
  }

  /** Adds an extent; throws EINVAL when it breaks the ordering rules. */
  add(offset: bigint, length: bigint, type: number): void {
    if (length < 0n) throw nbdError('EINVAL', `extent at ${offset} has a negative length`);
    if (this.next === undefined) {
      if (offset > this.start) {
        throw nbdError('EINVAL', `first extent starts at ${offset}, after the start of the range ${this.start}`);
      }
    } else if (offset !== this.next) {
      throw nbdError('EINVAL', `extent at ${offset} is not contiguous with the previous one ending at ${this.next}`);
    }
    if (length === 0n) return;
    this.next = offset + length;
    if (this.extents.length >= MAX_EXTENTS) return;
    let from = offset < this.start ? this.start : offset;
    const to = this.next > this.end ? this.end : this.next;
    if (to <= from) return;
    const last = this.extents.at(-1);
    if (last !== undefined && last.type === type) {
      from = last.offset;
      this.extents[this.extents.length - 1] = { offset: from, length: to - from, type };
    } else {
      this.extents.push({ offset: from, length: to - from, type });
    }
  }

  /** How far the collected extents reach: `start` when none were added. */
  get covered(): bigint {
    const last = this.extents.at(-1);
    return last === undefined ? this.start : last.offset + last.length;
  }
}
