import type { MaybePromise, Next } from '@nbdkit-ts/core';
import type { BlockDevice } from './ext2fs/block-device.js';
import { Mutex } from '@nbdkit-ts/core';

/**
 * The image the filesystem lives on, read and written through a context on
 * the layer beneath. With `serialize`, one call at a time is in flight on
 * that context (for a layer beneath that cannot take parallel calls).
 */
export function nextDevice(next: Next, serialize: boolean): BlockDevice {
  const lock = serialize ? new Mutex() : undefined;
  const call = <T>(fn: () => MaybePromise<T>): MaybePromise<T> => (lock === undefined ? fn() : lock.run(fn));
  return {
    size: next.capabilities.size,
    writable: next.capabilities.canWrite && !next.readonly,
    read: (buf, offset) => call(() => next.pread(buf, offset, 0)),
    write: (buf, offset) => call(() => next.pwrite(buf, offset, 0)),
    flush: () => (next.capabilities.canFlush ? call(() => next.flush(0)) : undefined),
  };
}
