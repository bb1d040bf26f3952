import { setTimeout as sleep } from 'node:timers/promises';
import { errorCode, errorMessage, type ConnectionInfo, type MaybePromise } from '@nbdkit-ts/core';
import type { Settings } from './settings.js';

/**
 * Calls `attempt` until it succeeds, at most `settings.retries` times more
 * after the first failure, waiting `settings.delayMs` before each retry.
 * Gives up with the last error once the retries are spent, when `retryable`
 * says no, or when the connection closes (the wait ends at once then).
 */
export async function withRetries<T>(
  what: string,
  attempt: () => MaybePromise<T>,
  settings: Settings,
  connection: ConnectionInfo,
  retryable: (error: unknown) => boolean = () => true,
): Promise<T> {
  for (let retry = 1; ; retry++) {
    try {
      return await attempt();
    } catch (e) {
      if (retry > settings.retries || !retryable(e)) throw e;
      connection.log.debug(`${what} failed (${errorCode(e)}: ${errorMessage(e)}): retry ${retry} of ${settings.retries} in ${settings.delayMs}ms`);
      if (!(await pause(settings.delayMs, connection.signal))) {
        connection.log.debug(`${what}: retry ${retry} abandoned: the connection is closing`);
        throw e;
      }
    }
  }
}

/** Waits `ms` milliseconds; resolves false at once when `signal` is (or gets) aborted. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
