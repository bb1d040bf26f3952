import type { ParamSpec } from '@nbdkit-ts/core';

/**
 * How zero requests are handled:
 * - `none`: zero is not advertised, clients write zeroes themselves;
 * - `emulate`: advertised, and done by writing zeroes to the layer beneath;
 * - `notrim`: passed to the layer beneath without the MAY_TRIM flag;
 * - `plugin`: passed to the layer beneath unchanged.
 */
export type ZeroMode = 'none' | 'emulate' | 'notrim' | 'plugin';

/**
 * How zero requests with the FAST_ZERO flag are handled:
 * - `default`: refused at once under `emulate`, left to the layer beneath otherwise;
 * - `none`: fast zero is not advertised;
 * - `slow`: advertised, and every fast zero fails at once with ENOTSUP;
 * - `ignore`: advertised, and the flag is dropped (unsafe: a fast zero may be slow).
 */
export type FastZeroMode = 'default' | 'none' | 'slow' | 'ignore';

/** The filter's parameters, with nbdkit's names. */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'zeromode', description: "'none' (default): zero not advertised, 'emulate': done by writing zeroes, 'notrim': passed on without MAY_TRIM, 'plugin': passed on" },
  { name: 'fastzeromode', description: "'default', 'none': fast zero not advertised, 'slow': fast zeroes fail at once, 'ignore': done as ordinary zeroes (unsafe)" },
];

const ZERO_MODES: readonly ZeroMode[] = ['none', 'emulate', 'notrim', 'plugin'];
const FAST_ZERO_MODES: readonly FastZeroMode[] = ['default', 'none', 'slow', 'ignore'];

/** The filter's configuration: nbdkit's defaults, zeromode=none and fastzeromode=default. */
export class ZeroModes {
  zero: ZeroMode = 'none';
  fastZero: FastZeroMode = 'default';

  /** Takes one of the keys in {@link PARAMS}; throws a message naming it when the mode is unknown. The last one given wins. */
  config(key: string, value: string): void {
    if (key === 'zeromode') this.zero = pick(key, value, ZERO_MODES);
    else this.fastZero = pick(key, value, FAST_ZERO_MODES);
  }

  /** Whether zero requests go to the layer beneath, which must then support zero. */
  get passesZero(): boolean {
    return this.zero === 'notrim' || this.zero === 'plugin';
  }
}

function pick<T extends string>(key: string, value: string, modes: readonly T[]): T {
  if (!(modes as readonly string[]).includes(value)) throw new Error(`${key}=${value}: unknown mode: expected ${modes.slice(0, -1).join(', ')} or ${modes.at(-1)}`);
  return value as T;
}
