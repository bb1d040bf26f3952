import type { ParamSpec } from '@nbdkit-ts/core';

/**
 * What the filter does with cache requests:
 * - `none`: cache is not advertised, clients cannot send it;
 * - `emulate`: advertised, and the server reads the range and discards it
 *   (whatever the layer beneath can do);
 * - `nop`: advertised, and every cache request succeeds at once, doing nothing.
 */
export type CacheMode = 'none' | 'emulate' | 'nop';

/** The filter's parameters, with nbdkit's names. */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'cachemode', description: "'none' (default): cache not advertised, 'emulate': done by reading, 'nop' (or 'no-op'): accepted and ignored" },
];

const MODES: Readonly<Record<string, CacheMode>> = { none: 'none', emulate: 'emulate', nop: 'nop', 'no-op': 'nop' };

/** Parses `cachemode=MODE`; throws a message naming the key when the mode is unknown. */
export function parseCacheMode(key: string, value: string): CacheMode {
  const mode = Object.hasOwn(MODES, value) ? MODES[value] : undefined;
  if (mode === undefined) throw new Error(`${key}=${value}: unknown mode: expected none, emulate or nop`);
  return mode;
}
