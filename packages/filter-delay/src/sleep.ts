import { setTimeout as timer } from 'node:timers/promises';
import { nbdError } from '@nbdkit-ts/core';

/**
 * Waits `ms` milliseconds (Node's timers count whole milliseconds: a
 * fraction waits the next whole one). Rejects with ESHUTDOWN as soon as
 * `signal` is aborted.
 */
export async function sleep(ms: number, signal: AbortSignal, what: string): Promise<void> {
  if (!signal.aborted) {
    try {
      await timer(Math.ceil(ms), undefined, { signal });
      return;
    } catch {
      // aborted: answered below
    }
  }
  throw nbdError('ESHUTDOWN', `delay: ${what} interrupted: the connection or the server is closing`);
}
