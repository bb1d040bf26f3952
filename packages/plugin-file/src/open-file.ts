import { constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { errorCode } from '@nbdkit-ts/core';

/** An open file or block device, and what the plugin needs to know about it. */
export interface OpenedFile {
  readonly fd: number;
  readonly writable: boolean;
  readonly blockDevice: boolean;
  /** st_rdev: which block device it is. */
  readonly rdev: bigint;
  /** False for `fd=`: the descriptor is the parent's, shared by every connection, and never closed here. */
  readonly owned: boolean;
}

function describe(fd: number, writable: boolean, owned: boolean): OpenedFile {
  const st = fstatSync(fd, { bigint: true });
  return { fd, writable, blockDevice: st.isBlockDevice(), rdev: st.rdev, owned };
}

/**
 * Opens `path` read-write, or read-only when asked to or when writing is not
 * allowed (a read-only mount, an immutable file, no permission): the
 * connection is then read-only.
 */
export function openPath(path: string, readonly: boolean): OpenedFile {
  if (!readonly) {
    try {
      const fd = openSync(path, constants.O_RDWR);
      return describe(fd, true, true);
    } catch (e) {
      const code = errorCode(e);
      if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw e;
    }
  }
  return describe(openSync(path, constants.O_RDONLY), false, true);
}

/**
 * The access mode of an open descriptor from /proc/self/fdinfo (Linux);
 * where that cannot be read, assume read-write and let writes fail.
 */
function accessMode(fd: number): number {
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'));
    if (flags !== null) return parseInt(flags[1] as string, 8) & 3;
  } catch {
    // Not Linux, or /proc is not mounted.
  }
  return constants.O_RDWR;
}

/** `fd=N`: the descriptor a parent process handed over; writable when it was opened for writing. */
export function inheritedFile(fd: number, readonly: boolean): OpenedFile {
  return describe(fd, !readonly && accessMode(fd) !== constants.O_RDONLY, false);
}
