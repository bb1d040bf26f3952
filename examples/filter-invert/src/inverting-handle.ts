import { ExtentList, ExtentType, Flag, nbdError, type FilterHandle, type Flags, type Next } from '@nbdkit-ts/core';
import { invert } from './invert.js';

/** Largest write of 0xff bytes when the filter zeroes a range. */
const CHUNK = 1024 * 1024;
/** 0xff bytes to write from; never written to. */
let ones: Uint8Array | undefined;

/**
 * The handle of one connection over `next`, the Next associated with it.
 * Reads come back inverted and writes go down inverted, so the export reads
 * back what was written. A zeroed range must then hold 0xff bytes beneath:
 * zero is done by writing them. Block status keeps the allocation beneath,
 * but nothing that reads as zeroes beneath does here. Trim, cache and flush
 * change no bytes a client may rely on: left out, they pass through.
 */
export function invertingHandle(next: Next): FilterHandle {
  return {
    capabilities() {
      // Zeroing is writing: never fast, and possible where the disk beneath can be written.
      // Fast zero is advertised so that a client asking for it hears at once that it is slow.
      const { canWrite } = next.capabilities;
      return { canZero: canWrite ? 'emulate' : 'none', canFastZero: canWrite };
    },
    async pread(buf, offset, flags) {
      await next.pread(buf, offset, flags);
      invert(buf, buf);
    },
    pwrite(buf, offset, flags) {
      // The caller's buffer is left as it is: the inverted bytes go down from a copy.
      const inverted = new Uint8Array(buf.length);
      invert(buf, inverted);
      return next.pwrite(inverted, offset, flags);
    },
    async zero(count, offset, flags) {
      if (flags & Flag.FAST_ZERO) throw nbdError('ENOTSUP', 'invert: fast zero refused: zeroing writes 0xff bytes beneath');
      // MAY_TRIM is ignored: a hole beneath would read as zeroes there, so as 0xff bytes here.
      await writeOnes(next, count, offset, flags);
    },
    async extents(count, offset, flags, extents) {
      const beneath = new ExtentList(offset, extents.end);
      await next.extents(count, offset, flags, beneath);
      // What reads as zeroes beneath reads as 0xff bytes here: keep the hole bit, drop the zero bit.
      for (const e of beneath.extents) extents.add(e.offset, e.length, e.type & ~ExtentType.ZERO);
    },
  };
}

/**
 * Writes `count` 0xff bytes at `offset` to `next`, in writes of at most
 * {@link CHUNK} bytes (and of the maximum block size beneath). With FUA,
 * every write carries it when the layer beneath has it natively; otherwise
 * only the last one does, and the flush that emulates it makes the earlier
 * writes durable too.
 */
async function writeOnes(next: Next, count: number, offset: bigint, flags: Flags): Promise<void> {
  const fua = (flags & Flag.FUA) !== 0;
  const everyWrite = fua && next.capabilities.canFua === 'native';
  const chunk = Math.min(CHUNK, next.capabilities.blockSize?.maximum ?? CHUNK);
  ones ??= new Uint8Array(CHUNK).fill(0xff);
  while (count > 0) {
    const n = Math.min(count, chunk);
    const last = n === count;
    await next.pwrite(ones.subarray(0, n), offset, everyWrite || (fua && last) ? Flag.FUA : 0);
    count -= n;
    offset += BigInt(n);
  }
}
