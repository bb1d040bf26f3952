import { errorCode, type Context } from '@nbdkit-ts/core';
import { formatDelay, wait } from './delay.js';
import { describeError, ReopenHandle } from './reopen-handle.js';
import type { Settings } from './settings.js';

/**
 * Opens the connection's first context, retrying a failed open as a failed
 * request is retried (same count, delays and `retry-errors`).
 */
export async function openWithRetries(context: Context, settings: Settings): Promise<ReopenHandle> {
  let delay = settings.delayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return new ReopenHandle(context, settings, await context.openNext(), attempt);
    } catch (e) {
      if (attempt > settings.retries || !settings.retriesCode(errorCode(e))) throw e;
      context.log.debug(`open failed: ${describeError(e)}; retry ${attempt} of ${settings.retries} after ${formatDelay(delay)}`);
      if (!(await wait(delay, context.signal))) throw e;
      delay = settings.nextDelay(delay);
    }
  }
}
