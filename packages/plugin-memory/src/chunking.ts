/** What {@link Chunking.each} calls for each piece of a range. */
export type PieceFn = (chunk: number, within: number, length: number, done: number) => void;

/**
 * A disk cut into chunks of 2^bits bytes. Offsets go up to 2^63 - 1, so they
 * are split with bigint arithmetic once per request; chunk numbers and
 * lengths are then plain numbers (below 2^53 for chunks of 1 KiB and more).
 */
export class Chunking {
  /** Bytes in a chunk. */
  readonly size: number;
  private readonly shift: bigint;
  private readonly mask: bigint;

  constructor(bits: number) {
    this.size = 2 ** bits;
    this.shift = BigInt(bits);
    this.mask = (1n << this.shift) - 1n;
  }

  /** The number of the chunk holding byte `offset`. */
  chunkOf(offset: bigint): number {
    return Number(offset >> this.shift);
  }

  /** The offset of the first byte of chunk `chunk`. */
  offsetOf(chunk: number): bigint {
    return BigInt(chunk) << this.shift;
  }

  /**
   * Calls `fn` for each piece of the `count` bytes at `offset` that lies in
   * one chunk, in order: the chunk's number, where the piece starts in the
   * chunk, its length, and how many bytes of the range came before it.
   */
  each(offset: bigint, count: number, fn: PieceFn): void {
    let chunk = Number(offset >> this.shift);
    let within = Number(offset & this.mask);
    for (let done = 0; done < count; chunk++, within = 0) {
      const length = Math.min(this.size - within, count - done);
      fn(chunk, within, length, done);
      done += length;
    }
  }
}
