/** The largest prefetch window: how far ahead of a sequential reader the filter prefetches at most. */
export const MAX_WINDOW = 32 << 20;

/** A range to prefetch, `[from, to)`. */
export interface Range {
  readonly from: bigint;
  readonly to: bigint;
}

/**
 * The adaptive window of one connection. A read that starts where the last
 * one ended (or at 0, first) is sequential: the window doubles (from four
 * times the read's size, at most to {@link MAX_WINDOW}) and what lies ahead of
 * the read within the window, not yet asked for, is to be prefetched. Any
 * other read closes the window.
 */
export class Window {
  private end = 0n;
  private size = 0;
  /** Prefetched up to here (exclusive). */
  private ahead = 0n;

  constructor(private readonly diskSize: bigint) {}

  /** Takes a read and returns the range to prefetch now, if any. */
  read(offset: bigint, count: number): Range | undefined {
    const end = offset + BigInt(count);
    const sequential = offset === this.end;
    this.end = end;
    if (!sequential) {
      this.size = 0;
      this.ahead = end;
      return undefined;
    }
    this.size = Math.min(Math.max(this.size * 2, 4 * count), MAX_WINDOW);
    const target = end + BigInt(this.size) < this.diskSize ? end + BigInt(this.size) : this.diskSize;
    const from = this.ahead > end ? this.ahead : end;
    if (target <= from) return undefined;
    this.ahead = target;
    return { from, to: target };
  }

  /** Closes the window: the next sequential read starts it again. */
  reset(): void {
    this.size = 0;
    this.ahead = this.end;
  }
}
