import { errorCode, ExtentList, Flag, type Context, type FilterHandle, type Flags, type MaybePromise, type Next } from '@nbdkit-ts/core';
import { withRetries } from './retry.js';
import type { Settings } from './settings.js';

/**
 * The handle of one connection: every data call that fails is tried again
 * on the same context, as `settings` say. A fast zero refused with ENOTSUP
 * is not retried: that answer is final, and the client falls back to
 * writing.
 */
export function retryingHandle(context: Context, settings: Settings): FilterHandle {
  const next = (): Next => context.next as Next;
  const retry = <T>(what: string, attempt: () => MaybePromise<T>, flags: Flags = 0): Promise<T> =>
    withRetries(what, attempt, settings, context, (e) => !(flags & Flag.FAST_ZERO && isNotSupported(e)));
  return {
    pread: (buf, offset, flags) => retry('pread', () => next().pread(buf, offset, flags)),
    pwrite: (buf, offset, flags) => retry('pwrite', () => next().pwrite(buf, offset, flags)),
    flush: (flags) => retry('flush', () => next().flush(flags)),
    trim: (count, offset, flags) => retry('trim', () => next().trim(count, offset, flags)),
    zero: (count, offset, flags) => retry('zero', () => next().zero(count, offset, flags), flags),
    cache: (count, offset, flags) => retry('cache', () => next().cache(count, offset, flags)),
    async extents(count, offset, flags, extents) {
      // Each try starts from an empty list: a failed one may have added some extents.
      const answer = await retry('extents', async () => {
        const list = new ExtentList(offset, extents.end);
        await next().extents(count, offset, flags, list);
        return list;
      });
      for (const e of answer.extents) extents.add(e.offset, e.length, e.type);
    },
  };
}

function isNotSupported(e: unknown): boolean {
  const code = errorCode(e);
  return code === 'ENOTSUP' || code === 'EOPNOTSUPP';
}
