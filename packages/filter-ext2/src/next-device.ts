import type { Next } from '@nbdkit-ts/core';
import type { BlockDevice } from './ext2fs/block-device.js';

/** The image the filesystem lives on, read and written through a context on the layer beneath. */
export function nextDevice(next: Next): BlockDevice {
  return {
    size: next.capabilities.size,
    writable: next.capabilities.canWrite && !next.readonly,
    read: (buf, offset) => next.pread(buf, offset, 0),
    write: (buf, offset) => next.pwrite(buf, offset, 0),
    flush: () => (next.capabilities.canFlush ? next.flush(0) : undefined),
  };
}
