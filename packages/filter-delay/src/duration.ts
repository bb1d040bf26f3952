/** The longest delay a timer can wait (setTimeout's limit, about 24.8 days), in milliseconds. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

const UNIT_MS: Readonly<Record<string, number>> = { '': 1000, s: 1000, ms: 1, us: 0.001 };

/**
 * Parses a delay the way nbdkit's delay filter takes it: seconds (`2`,
 * `0.5`, `2s`), milliseconds (`100ms`) or microseconds (`500us`); `0` is no
 * delay. Returns milliseconds. Throws an error naming the key otherwise.
 */
export function parseDuration(key: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|ms|us)?\s*$/.exec(value);
  if (m === null) throw new Error(`${key}=${value}: expected a delay in seconds (2, 0.5), milliseconds (100ms) or microseconds (500us)`);
  const ms = Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 1000);
  if (ms > MAX_DELAY_MS) throw new Error(`${key}=${value}: the delay must be at most ${MAX_DELAY_MS / 1000} seconds`);
  return ms;
}
