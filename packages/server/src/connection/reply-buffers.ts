/** Replies up to this size are carved from a shared slab. */
const SLAB_LIMIT = 64 * 1024 + 64;
const SLAB_SIZE = 1024 * 1024;

let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let used = 0;

/**
 * A buffer for one read reply (header and data). Small ones are carved from
 * a 1 MiB slab, so a 4 KiB read costs no allocation of its own; a slab is
 * freed by the garbage collector once every reply carved from it is gone.
 */
export function replyBuffer(size: number): Buffer {
  if (size > SLAB_LIMIT) return Buffer.allocUnsafe(size);
  if (used + size > SLAB_SIZE) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    used = 0;
  }
  const b = slab.subarray(used, used + size);
  used += (size + 7) & ~7;
  return b;
}
