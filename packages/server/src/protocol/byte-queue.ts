/** A fresh buffer of `n` bytes, not zeroed. */
export const allocUnsafe = (n: number): Buffer => Buffer.allocUnsafe(n);

/**
 * Bytes received and not yet consumed, kept as the chunks they arrived in.
 * Taking bytes that lie within one chunk returns a view of it (no copy).
 * Pure: no sockets.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Offset of the first unconsumed byte in chunks[0]. */
  private head = 0;
  /** Unconsumed bytes. */
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /**
   * Takes the next `n` bytes (n <= length): a view when they lie in one
   * chunk, otherwise a copy into a buffer from `allocate`.
   */
  take(n: number, allocate: (n: number) => Buffer = allocUnsafe): Buffer {
    if (n > this.length) throw new RangeError(`take(${n}) with only ${this.length} bytes queued`);
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.head >= n) {
      const view = first.subarray(this.head, this.head + n);
      this.consume(n);
      return view;
    }
    const out = allocate(n);
    this.moveTo(out, n);
    return out;
  }

  /** Moves the next `n` bytes (n <= length) to the start of `out`. */
  moveTo(out: Buffer, n: number): void {
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const part = Math.min(chunk.length - this.head, n - filled);
      chunk.copy(out, filled, this.head, this.head + part);
      filled += part;
      this.consume(part);
    }
  }

  /** Drops up to `n` bytes; returns how many were dropped. */
  skip(n: number): number {
    const dropped = Math.min(n, this.length);
    let left = dropped;
    while (left > 0) {
      const chunk = this.chunks[0] as Buffer;
      const part = Math.min(chunk.length - this.head, left);
      this.consume(part);
      left -= part;
    }
    return dropped;
  }

  private consume(n: number): void {
    this.head += n;
    this.length -= n;
    const first = this.chunks[0];
    if (first !== undefined && this.head === first.length) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}
