import { Flag, type Context, type FilterHandle, type Flags, type MaybePromise, type Next } from '@nbdkit-ts/core';
import { flagsBeneath, fuaCapabilities, type FuaMode } from './fua-mode.js';

/**
 * The handle of one connection under `mode`: it advertises FUA and flush as
 * the mode says and changes the FUA flag of writes, trims and zeroes on
 * their way to the associated Next (under `emulate`, a flush follows a call
 * that had FUA). Everything else passes through.
 */
export function fuaHandle(context: Context, mode: FuaMode): FilterHandle {
  const next = (): Next => context.next as Next;
  /** Runs `call` with the flags for beneath, then the flush that emulates FUA when there is one to do. */
  async function send(flags: Flags, call: (flags: Flags) => MaybePromise<void>): Promise<void> {
    await call(flagsBeneath(mode, flags));
    if (mode === 'emulate' && flags & Flag.FUA) await next().flush(0);
  }
  return {
    capabilities(below) {
      // A read-only connection never writes: the mode changes nothing and needs nothing.
      if (below === undefined || context.readonly || !below.canWrite) return {};
      return fuaCapabilities(mode, below, context.backend.name);
    },
    pwrite: (buf, offset, flags) => send(flags, (f) => next().pwrite(buf, offset, f)),
    trim: (count, offset, flags) => send(flags, (f) => next().trim(count, offset, f)),
    zero: (count, offset, flags) => send(flags, (f) => next().zero(count, offset, f)),
    async flush(flags) {
      // Under force every write was durable when it returned; under discard nothing is to be.
      if (mode !== 'force' && mode !== 'discard') await next().flush(flags);
    },
  };
}
