// A plugin that misbehaves on purpose, for the server's fault tests. Each
// 4 KiB block of its 1 MiB export, and some export names, pick a fault.
import { API_VERSION, definePlugin, nbdError } from '@nbdkit-ts/core';

const SIZE = 1024 * 1024;
const BLOCK = 4096;
/** Block numbers and what a read there does. */
export const FAULTS = { THROW: 1, REJECT_STRING: 2, HANG: 3, ENOSPC: 4, EXTENT_GAP: 5, NO_EXTENTS: 6, FLOATING_REJECTION: 7, REJECT_UNDEFINED: 8 };

export default definePlugin(() => {
  const data = Buffer.alloc(SIZE);
  return {
    apiVersion: API_VERSION,
    name: 'fault',
    open({ exportName, tls, log }) {
      log.debug(`open "${exportName}" tls=${tls}`);
      if (exportName === 'open-throws') throw new Error('cannot open today');
      if (exportName === 'open-hangs') return new Promise(() => {});
      if (exportName === 'open-null') return null;
      let wholeReads = 0;
      return {
        capabilities() {
          if (exportName === 'bad-caps') return { size: 'big', canWrite: 'yes' };
          return { size: BigInt(SIZE), canExtents: true };
        },
        close() {
          if (exportName === 'close-throws') throw new TypeError('close went wrong');
        },
        pread(buf, offset) {
          const block = Number(offset) / BLOCK;
          if (block === FAULTS.THROW) throw new TypeError('x is not a function');
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the fault: a rejection that is not an Error
          if (block === FAULTS.REJECT_STRING) return Promise.reject('a string, not an Error');
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the fault: a rejection with no reason at all
          if (block === FAULTS.REJECT_UNDEFINED) return Promise.reject(undefined);
          if (block === FAULTS.HANG) return new Promise(() => {});
          if (block === FAULTS.FLOATING_REJECTION) void Promise.reject(new Error('nobody waits for me'));
          if (buf.length === SIZE) log.debug(`whole-disk read ${++wholeReads}`);
          data.copy(buf, 0, Number(offset), Number(offset) + buf.length);
          return undefined;
        },
        pwrite(buf, offset) {
          if (Number(offset) / BLOCK === FAULTS.ENOSPC) throw nbdError('ENOSPC', 'the disk is full');
          Buffer.from(buf.buffer, buf.byteOffset, buf.length).copy(data, Number(offset));
        },
        flush() {},
        extents(count, offset, flags, extents) {
          const block = Number(offset) / BLOCK;
          if (block === FAULTS.EXTENT_GAP) extents.add(offset + 512n, BigInt(count), 0);
          else if (block !== FAULTS.NO_EXTENTS) extents.add(offset, BigInt(count), 0);
        },
      };
    },
  };
});
