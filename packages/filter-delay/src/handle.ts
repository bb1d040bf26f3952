import { Flag, nbdError, type Context, type FilterHandle, type Next } from '@nbdkit-ts/core';
import type { Settings } from './settings.js';
import type { Sleeper } from './sleep.js';

/**
 * The handle of one connection: each delayed call waits its delay on
 * `sleeper` (ended by the connection's signal), then goes to the
 * associated Next; `server` ends the delay of close only at shutdown.
 * Calls without a delay are left out, so they pass straight through.
 */
export function delayingHandle(context: Context, settings: Settings, sleeper: Sleeper, server: Sleeper): FilterHandle {
  const { delays: d, fastZero } = settings;
  const next = (): Next => context.next as Next;
  const wait = (ms: number, what: string) => sleeper.sleep(ms, what);
  const handle: FilterHandle = {};
  if (d.read > 0) {
    handle.pread = async (buf, offset, flags) => {
      await wait(d.read, 'pread');
      return next().pread(buf, offset, flags);
    };
  }
  if (d.write > 0) {
    handle.pwrite = async (buf, offset, flags) => {
      await wait(d.write, 'pwrite');
      return next().pwrite(buf, offset, flags);
    };
  }
  if (d.zero > 0 || !fastZero) {
    handle.zero = async (count, offset, flags) => {
      if (flags & Flag.FAST_ZERO && !fastZero) throw nbdError('ENOTSUP', 'delay: fast zero refused (delay-fast-zero=false)');
      if (d.zero > 0) await wait(d.zero, 'zero');
      return next().zero(count, offset, flags);
    };
  }
  if (!fastZero) handle.capabilities = (below) => ({ canFastZero: below?.canZero !== 'none' });
  if (d.trim > 0) {
    handle.trim = async (count, offset, flags) => {
      await wait(d.trim, 'trim');
      return next().trim(count, offset, flags);
    };
  }
  if (d.extents > 0) {
    handle.extents = async (count, offset, flags, extents) => {
      await wait(d.extents, 'extents');
      return next().extents(count, offset, flags, extents);
    };
  }
  if (d.cache > 0) {
    handle.cache = async (count, offset, flags) => {
      await wait(d.cache, 'cache');
      return next().cache(count, offset, flags);
    };
  }
  if (d.close > 0) {
    // The connection's signal is aborted before its contexts close: the server's ends the wait.
    handle.close = () => server.sleep(d.close, 'close').catch(() => {});
  }
  return handle;
}
