import { Flag, nbdError, type FilterHandle, type Flags, type Logger, type Next } from '@nbdkit-ts/core';
import { alignedExtents } from './aligned-extents.js';
import { advertisedBlockSize, type Limits } from './limits.js';
import { pieces, type Piece } from './pieces.js';
import type { SharedRangeLock } from './shared-range-lock.js';

/**
 * The handle of one connection over `next`, its associated Next: every
 * request beneath starts and ends on a multiple of `limits.minblock` and is
 * at most `limits.maxdata` (read, write) or `limits.maxlen` (trim, zero,
 * cache, block status) long. `lock`, shared by every connection of the
 * filter, keeps writes out of the block a read-modify-write is rewriting.
 */
export function blocksizeHandle(next: Next, limits: Limits, lock: SharedRangeLock, log: Logger): FilterHandle {
  const { minblock, maxdata, maxlen } = limits;
  const block = BigInt(minblock);
  const blockOf = (p: Piece): bigint => p.offset - (p.offset % block);
  const within = (p: Piece): number => Number(p.offset % block);
  /** The whole blocks holding the `count` bytes at `offset`: where they start, and their length. */
  const roundOut = (offset: bigint, count: number): [bigint, number] => {
    const start = offset - (offset % block);
    const end = offset + BigInt(count);
    return [start, Number(end - start + ((block - (end % block)) % block))];
  };
  const waiting = (what: string, p: Piece) => () => log.debug(`${what} at ${p.offset} (${p.count} bytes) waits for the writes in progress on its blocks`);

  /** Reads the whole block holding `p`. */
  async function readBlock(p: Piece): Promise<Uint8Array> {
    const data = new Uint8Array(minblock);
    await next.pread(data, blockOf(p), 0);
    return data;
  }

  /** Rewrites the block holding `p` with `change` applied to it, alone on that block. */
  function rewrite(p: Piece, change: (data: Uint8Array) => void, flags: Flags): Promise<void> {
    const start = blockOf(p);
    return lock.exclusive(start, start + block, async () => {
      const data = await readBlock(p);
      change(data);
      await next.pwrite(data, start, flags);
    }, waiting('read-modify-write', p));
  }

  /** Runs `call` on the whole blocks of `p` while no read-modify-write touches them. */
  const aligned = (what: string, p: Piece, call: () => unknown): Promise<unknown> => lock.shared(p.offset, p.offset + BigInt(p.count), call, waiting(what, p));

  /**
   * FUA beneath: when the layer beneath emulates it with a flush, the
   * pieces go without it and one flush follows the last one.
   */
  async function withFua(flags: Flags, body: (flags: Flags) => Promise<void>): Promise<void> {
    const flush = (flags & Flag.FUA) !== 0 && next.capabilities.canFua === 'emulate';
    await body(flush ? flags & ~Flag.FUA : flags);
    if (flush) await next.flush(0);
  }

  return {
    capabilities: (below) => (below === undefined ? {} : { size: below.size - (below.size % block), blockSize: advertisedBlockSize(below.blockSize, limits) }),

    async pread(buf, offset, flags) {
      for (const p of pieces(offset, buf.length, minblock, maxdata)) {
        const part = buf.subarray(p.at, p.at + p.count);
        if (p.aligned) await next.pread(part, p.offset, flags);
        else part.set((await readBlock(p)).subarray(within(p), within(p) + p.count));
      }
    },

    pwrite: (buf, offset, flags) =>
      withFua(flags, async (f) => {
        for (const p of pieces(offset, buf.length, minblock, maxdata)) {
          const part = buf.subarray(p.at, p.at + p.count);
          if (p.aligned) await aligned('write', p, () => next.pwrite(part, p.offset, f));
          else await rewrite(p, (data) => data.set(part, within(p)), f);
        }
      }),

    async zero(count, offset, flags) {
      // A fast zero must be one call beneath: a later piece failing with ENOTSUP would come too late.
      if (flags & Flag.FAST_ZERO && ((offset | BigInt(count)) % block !== 0n || count > maxlen)) {
        throw nbdError('ENOTSUP', `blocksize: fast zero refused: the request is not one aligned request beneath (minblock ${minblock}, maxlen ${maxlen})`);
      }
      // Zeroing by writing (emulated beneath) writes data: it keeps to maxdata.
      const max = next.capabilities.canZero === 'emulate' ? maxdata : maxlen;
      await withFua(flags, async (f) => {
        for (const p of pieces(offset, count, minblock, max)) {
          if (p.aligned) await aligned('zero', p, () => next.zero(p.count, p.offset, f));
          else await rewrite(p, (data) => data.fill(0, within(p), within(p) + p.count), f & Flag.FUA);
        }
      });
    },

    trim: (count, offset, flags) =>
      withFua(flags, async (f) => {
        // The parts of blocks at either end are left as they are: a trim may leave any data.
        for (const p of pieces(offset, count, minblock, maxlen)) {
          if (p.aligned) await aligned('trim', p, () => next.trim(p.count, p.offset, f));
        }
      }),

    async cache(count, offset, flags) {
      const [start, length] = roundOut(offset, count);
      for (const p of pieces(start, length, minblock, maxlen)) await next.cache(p.count, p.offset, flags);
    },

    async extents(count, offset, flags, extents) {
      // Less than asked for is a valid answer: the client asks again for the rest.
      const [start, length] = roundOut(offset, count);
      for (const e of await alignedExtents(next, Math.min(length, maxlen), start, flags, minblock)) extents.add(e.offset, e.length, e.type);
    },
  };
}
