import { unlinkSync } from 'node:fs';
import { errorCode } from '@nbdkit-ts/core';

/**
 * Removes a file if it is there (a Unix socket, a pidfile). Not rmSync: that
 * loads a module of its own, and the server does without it.
 */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if (errorCode(e) !== 'ENOENT') throw e;
  }
}
