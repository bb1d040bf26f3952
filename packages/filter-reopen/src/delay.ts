import { setTimeout as sleep } from 'node:timers/promises';

/** Waits `ms` milliseconds, or until `signal` is aborted; resolves whether the whole delay passed. */
export async function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** A delay for log lines: `250ms`, `2s`. */
export function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}
