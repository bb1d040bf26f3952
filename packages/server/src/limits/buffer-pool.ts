/**
 * Where request payloads and read replies live. Small read replies are
 * carved from a shared slab (no allocation of their own); large buffers are
 * recycled, since a fresh one costs a page fault for every page the first
 * time it is touched (about 58 faults per 1 MiB read reply, measured), a
 * recycled one none. Recycled buffers are kept by capacity, in steps of
 * 64 KiB, up to a bound on the bytes kept.
 */

/** Buffers from this size on are recycled. */
export const POOL_FROM = 128 * 1024;
const POOL_STEP = 64 * 1024;
const POOL_MAX_KEPT = 64 * 1024 * 1024;
const SLAB_SIZE = 1024 * 1024;

/** Whether a buffer of this size is recycled (worth a {@link BufferPool.release} call). */
export function isRecycled(size: number): boolean {
  return size >= POOL_FROM;
}

/** One server's recycled buffers and reply slab. */
export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private kept = 0;
  private slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
  private used = 0;

  private fromPool(size: number): Buffer {
    const capacity = Math.ceil(size / POOL_STEP) * POOL_STEP;
    const recycled = this.free.get(capacity)?.pop();
    if (recycled !== undefined) this.kept -= capacity;
    return Buffer.from(recycled ?? Buffer.allocUnsafeSlow(capacity).buffer, 0, size);
  }

  /** A buffer for a write payload that must be copied out of the received bytes. */
  readonly payload = (size: number): Buffer => (size >= POOL_FROM ? this.fromPool(size) : Buffer.allocUnsafe(size));

  /** A buffer for one read reply (header and data). */
  reply(size: number): Buffer {
    if (size >= POOL_FROM) return this.fromPool(size);
    if (this.used + size > SLAB_SIZE) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      this.used = 0;
    }
    const b = this.slab.subarray(this.used, this.used + size);
    this.used += (size + 7) & ~7;
    return b;
  }

  /** Gives back a buffer from {@link payload} or {@link reply} once nothing uses it. */
  release(buf: Buffer): void {
    if (buf.length < POOL_FROM) return;
    const backing = buf.buffer as ArrayBuffer;
    const capacity = backing.byteLength;
    if (this.kept + capacity > POOL_MAX_KEPT) return;
    let list = this.free.get(capacity);
    if (list === undefined) this.free.set(capacity, (list = []));
    list.push(backing);
    this.kept += capacity;
  }
}

/** Size of the buffers a connection's socket reads land in. */
const RECEIVE_SIZE = 128 * 1024;
/** Below this much room, a read gets a new receive buffer. */
const RECEIVE_MIN = 32 * 1024;

/**
 * Where a connection's socket reads land when nothing asks for a buffer of
 * its own: consecutive regions of one buffer, then of a new one. A region is
 * never reused (requests may keep views of it), so no bytes are copied and
 * a buffer goes to the garbage collector with the last view of it.
 */
export class ReceiveBuffer {
  private buf: Buffer | undefined;
  private used = 0;

  /** Room for the next read. */
  space(): Buffer {
    if (this.buf === undefined || this.buf.length - this.used < RECEIVE_MIN) {
      this.buf = Buffer.allocUnsafeSlow(RECEIVE_SIZE);
      this.used = 0;
    }
    return this.buf.subarray(this.used);
  }

  /** Takes the `n` bytes a read put at the start of the last {@link space}. */
  take(n: number): Buffer {
    const b = (this.buf as Buffer).subarray(this.used, this.used + n);
    this.used += n;
    return b;
  }
}
