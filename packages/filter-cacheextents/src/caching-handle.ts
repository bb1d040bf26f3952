import { afterCall, ExtentList, Flag, type Context, type Extent, type FilterHandle, type MaybePromise, type Next } from '@nbdkit-ts/core';
import type { ExtentsCache } from './extents-cache.js';

/**
 * The handle of one connection: block status is answered from `cache` when
 * it covers the offset asked about, and otherwise asked of the layer beneath
 * for as much as it will tell (REQ_ONE is not passed on), whose answer is
 * kept. Writes, trims and zeroes drop the cache. Every other call passes
 * through.
 */
export function cachingHandle(context: Context, cache: ExtentsCache): FilterHandle {
  const next = (): Next => context.next as Next;
  /** `-D cacheextents.cache=1`: what the cache does, with -v. */
  const debug = (message: string): void => {
    if (context.debugFlag('cache') !== 0) context.log.debug(message);
  };
  const change = <T>(call: () => MaybePromise<T>): MaybePromise<T> => {
    cache.changeBegins();
    return afterCall(call, () => cache.changeEnds());
  };
  return {
    async extents(count, offset, flags, extents) {
      const hit = cache.lookup(context.exportName, offset);
      if (hit !== undefined) {
        debug(`offset ${offset}: answered from the cache (${hit.start} to ${hit.end})`);
        copy(hit.extents, extents);
        return;
      }
      const since = cache.asking();
      const n = next();
      const beneath = new ExtentList(offset, n.capabilities.size);
      await n.extents(count, offset, flags & ~Flag.REQ_ONE, beneath);
      const answer = { exportName: context.exportName, start: offset, end: beneath.covered, extents: beneath.extents };
      const kept = cache.keep(answer, since);
      debug(`offset ${offset}: not in the cache; the layer beneath answered ${offset} to ${answer.end}${kept ? '' : ', not kept: the disk changed meanwhile'}`);
      copy(answer.extents, extents);
    },
    pwrite: (buf, offset, flags) => change(() => next().pwrite(buf, offset, flags)),
    trim: (count, offset, flags) => change(() => next().trim(count, offset, flags)),
    zero: (count, offset, flags) => change(() => next().zero(count, offset, flags)),
  };
}

function copy(from: readonly Extent[], to: ExtentList): void {
  for (const e of from) to.add(e.offset, e.length, e.type);
}
