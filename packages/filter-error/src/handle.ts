import { nbdError, type Context, type FilterHandle } from '@nbdkit-ts/core';
import type { Injector } from './injector.js';
import type { Method } from './settings.js';

/**
 * A connection's handle: each call that may fail asks the injector first,
 * then goes to the associated Next. Calls that never fail are left out, so
 * the server passes them straight through.
 */
export function injectingHandle(context: Context, injector: Injector): FilterHandle {
  const call =
    (method: Method) =>
    (...args: unknown[]): unknown => {
      injector.check(method);
      const next = context.next;
      if (next === undefined) throw nbdError('EIO', `${method}: no context is associated below the error filter`);
      // eslint-disable-next-line @typescript-eslint/unbound-method -- applied to `next` itself
      return Reflect.apply(next[method], next, args);
    };
  return Object.fromEntries(injector.active.map((m) => [m, call(m)]));
}
