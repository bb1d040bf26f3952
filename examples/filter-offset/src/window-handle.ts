import { ExtentList, nbdError, type Context, type FilterHandle, type Next } from '@nbdkit-ts/core';
import type { Window } from './window.js';

/**
 * The handle of one connection: every data call is moved by the window's
 * offset onto the Next associated with the connection. Flush has no offset,
 * so the handle leaves it out and the server passes it through.
 */
export function windowHandle(context: Context, window: Window): FilterHandle {
  const next = (): Next => {
    if (context.next === undefined) throw nbdError('EIO', 'offset: no context beneath');
    return context.next;
  };
  const at = (offset: bigint) => offset + window.offset;
  return {
    capabilities: (below) => {
      if (below === undefined) throw nbdError('EIO', 'offset: no context beneath');
      return { size: window.sizeOver(below) };
    },
    pread: (buf, offset, flags) => next().pread(buf, at(offset), flags),
    pwrite: (buf, offset, flags) => next().pwrite(buf, at(offset), flags),
    trim: (count, offset, flags) => next().trim(count, at(offset), flags),
    zero: (count, offset, flags) => next().zero(count, at(offset), flags),
    cache: (count, offset, flags) => next().cache(count, at(offset), flags),
    async extents(count, offset, flags, extents) {
      const beneath = new ExtentList(at(offset), at(offset) + BigInt(count));
      await next().extents(count, at(offset), flags, beneath);
      for (const e of beneath.extents) extents.add(e.offset - window.offset, e.length, e.type);
    },
  };
}
