const TWO_32 = 2 ** 32;

/**
 * Fills `buf` with the pattern's bytes at `offset`: each 8-byte word, at an
 * offset that is a multiple of 8, holds that offset as a 64-bit big-endian
 * integer. The offset is kept as two 32-bit halves, so no bigint is made per
 * word; words cut by the ends of `buf` are made whole in a scratch word first.
 */
export function fillPattern(buf: Uint8Array, offset: bigint): void {
  const skip = Number(offset & 7n);
  const first = offset - BigInt(skip);
  let hi = Number(first >> 32n);
  let lo = Number(first & 0xffff_ffffn);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const scratch = new DataView(new ArrayBuffer(8));
  const scratchBytes = new Uint8Array(scratch.buffer);
  for (let at = -skip; at < buf.length; at += 8) {
    if (at >= 0 && at + 8 <= buf.length) {
      view.setUint32(at, hi);
      view.setUint32(at + 4, lo);
    } else {
      scratch.setUint32(0, hi);
      scratch.setUint32(4, lo);
      const from = Math.max(0, -at);
      buf.set(scratchBytes.subarray(from, Math.min(8, buf.length - at)), at + from);
    }
    lo += 8;
    if (lo >= TWO_32) {
      lo -= TWO_32;
      hi++;
    }
  }
}
