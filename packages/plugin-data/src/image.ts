import { SparseStore } from '@nbdkit-ts/plugin-memory';

/** The largest size of an image, as of a disk. */
export const MAX_SIZE = (1n << 63n) - 1n;
/** Values up to this size are repeated by copying them flat. */
const FLAT_REPEAT = 64n * 1024n;
/** Flat repeats are written in runs of about this many bytes. */
const RUN = 1024 * 1024;
/** Zeroing goes in steps that a number holds exactly. */
const ZERO_STEP = 1n << 52n;

/**
 * The value of an expression: `length` bytes, sparse (what was never written
 * reads as zeroes and takes no memory). Placing an image into another
 * replaces the whole range it covers, zeroes included.
 */
export class Image {
  private readonly store = new SparseStore(MAX_SIZE);
  private size = 0n;

  /** An image of `bytes`. */
  static of(bytes: Uint8Array): Image {
    const image = new Image();
    image.write(bytes, 0n);
    return image;
  }

  /** The image's length in bytes. */
  get length(): bigint {
    return this.size;
  }

  /** Makes the image at least `end` bytes long. */
  extendTo(end: bigint): void {
    if (end > MAX_SIZE) throw new RangeError(`the data would end beyond 2^63-1 bytes, at ${end}`);
    if (end > this.size) this.size = end;
  }

  /** Writes `bytes` at `at`. */
  write(bytes: Uint8Array, at: bigint): void {
    this.extendTo(at + BigInt(bytes.length));
    this.store.write(bytes, at);
  }

  /** Reads `buf.length` bytes at `at`. */
  read(buf: Uint8Array, at: bigint): void {
    this.store.read(buf, at);
  }

  /** The parts that hold bytes, within the length, with their offsets, in no particular order. */
  *held(): Generator<[bigint, Uint8Array]> {
    for (const [offset, page] of this.store.held()) {
      if (offset >= this.size) continue;
      const left = this.size - offset;
      yield [offset, left < page.length ? page.subarray(0, Number(left)) : page];
    }
  }

  /** Puts `image` at `at`, replacing all `image.length` bytes there. */
  place(image: Image, at: bigint): void {
    this.extendTo(at + image.length);
    for (let done = 0n; done < image.length; done += ZERO_STEP) {
      const left = image.length - done;
      this.store.zero(Number(left < ZERO_STEP ? left : ZERO_STEP), at + done);
    }
    for (const [offset, bytes] of image.held()) this.store.write(bytes, at + offset);
  }

  /** The image `count` times over. */
  repeat(count: bigint): Image {
    const out = new Image();
    const total = this.size * count;
    out.extendTo(total);
    if (this.size === 0n || count === 0n) return out;
    if (this.size > FLAT_REPEAT) {
      for (let i = 0n; i < count; i++) out.place(this, i * this.size);
      return out;
    }
    const one = new Uint8Array(Number(this.size));
    this.read(one, 0n);
    if (one.every((b) => b === 0)) return out;
    const run = new Uint8Array(one.length * Math.max(1, Math.floor(RUN / one.length)));
    for (let at = 0; at < run.length; at += one.length) run.set(one, at);
    for (let at = 0n; at < total; at += BigInt(run.length)) {
      const left = total - at;
      out.write(left < run.length ? run.subarray(0, Number(left)) : run, at);
    }
    return out;
  }

  /** Bytes `start` to `end` (excluded) of the image; the caller checks the bounds. */
  slice(start: bigint, end: bigint): Image {
    const out = new Image();
    out.extendTo(end - start);
    for (const [offset, bytes] of this.held()) {
      const from = offset > start ? offset : start;
      const last = offset + BigInt(bytes.length);
      const to = last < end ? last : end;
      if (from < to) out.store.write(bytes.subarray(Number(from - offset), Number(to - offset)), from - start);
    }
    return out;
  }
}
