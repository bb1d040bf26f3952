/**
 * Block buffers kept for reuse: a fresh large buffer costs a page fault per
 * page and work for the garbage collector, which for a stream of 1 MiB fills
 * cost more than the copies themselves.
 */
export class BufferPool {
  private readonly free: Uint8Array[] = [];

  constructor(
    private readonly size: number,
    /** How many idle buffers are kept at most. */
    private readonly keep: number,
  ) {}

  /**
   * Runs `use` with a buffer of `length` bytes (at most the pool's size). The
   * buffer goes back to the pool when `use` succeeds; after a failure a call
   * beneath may still hold it, so it is left to the garbage collector.
   */
  async with<T>(length: number, use: (buf: Uint8Array) => Promise<T>): Promise<T> {
    const buf = this.free.pop() ?? new Uint8Array(this.size);
    const result = await use(buf.subarray(0, length));
    if (this.free.length < this.keep) this.free.push(buf);
    return result;
  }
}
