import { Flag, nbdError, type Capabilities, type Context, type FilterHandle, type Flags, type Next } from '@nbdkit-ts/core';
import type { ZeroModes } from './zero-modes.js';

/** Largest write when the filter zeroes by writing. */
const CHUNK = 1024 * 1024;
/** Zeroes to write from; never written to. */
let zeroes: Uint8Array | undefined;

/**
 * The handle of one connection: it advertises zero and fast zero as `modes`
 * say, and handles the zero requests that reach it. Every other call passes
 * through to the associated Next.
 */
export function zeroingHandle(context: Context, modes: ZeroModes): FilterHandle {
  const next = (): Next => context.next as Next;
  return {
    capabilities(below) {
      if (below === undefined) return {};
      // A read-only connection never zeroes: there is nothing to check.
      if (modes.passesZero && !context.readonly && below.canWrite && below.canZero === 'none') {
        throw nbdError('EINVAL', `nozero: zeromode=${modes.zero} needs the layer beneath (${context.backend.name}) to support zero, and it does not`);
      }
      return { canZero: canZero(modes, below), canFastZero: canFastZero(modes, below) };
    },
    async zero(count, offset, flags) {
      if (flags & Flag.FAST_ZERO) {
        if (modes.fastZero === 'ignore') flags &= ~Flag.FAST_ZERO;
        else if (modes.fastZero === 'slow' || modes.zero === 'emulate') throw nbdError('ENOTSUP', 'nozero: fast zero refused: zeroing would be slow');
      }
      if (modes.zero === 'emulate') return writeZeroes(next(), count, offset, flags);
      if (modes.zero === 'notrim') flags &= ~Flag.MAY_TRIM;
      return next().zero(count, offset, flags);
    },
  };
}

function canZero(modes: ZeroModes, below: Capabilities): Capabilities['canZero'] {
  if (modes.zero === 'none') return 'none';
  if (modes.zero === 'emulate') return 'emulate';
  return below.canZero;
}

function canFastZero(modes: ZeroModes, below: Capabilities): boolean {
  if (modes.zero === 'none') return false;
  if (modes.zero !== 'emulate' && modes.fastZero === 'default') return below.canFastZero;
  return modes.fastZero !== 'none';
}

/**
 * Zeroes `count` bytes at `offset` with writes to `next`, at most
 * {@link CHUNK} bytes each. With FUA, every write carries it when the layer
 * beneath has it natively; otherwise only the last one does, and the flush
 * that emulates it makes the earlier writes durable too.
 */
async function writeZeroes(next: Next, count: number, offset: bigint, flags: Flags): Promise<void> {
  const fua = (flags & Flag.FUA) !== 0;
  const everyWrite = fua && next.capabilities.canFua === 'native';
  const chunk = Math.min(CHUNK, next.capabilities.blockSize?.maximum ?? CHUNK);
  zeroes ??= new Uint8Array(CHUNK);
  while (count > 0) {
    const n = Math.min(count, chunk);
    const last = n === count;
    await next.pwrite(zeroes.subarray(0, n), offset, everyWrite || (fua && last) ? Flag.FUA : 0);
    count -= n;
    offset += BigInt(n);
  }
}
