import { parseBool, parseDelay, type ParamSpec } from '@nbdkit-ts/core';

/** The delayed events, each with its own delay in milliseconds. */
export interface Delays {
  read: number;
  write: number;
  zero: number;
  trim: number;
  extents: number;
  cache: number;
  open: number;
  close: number;
}

const UNITS = 'seconds (2, 0.5), milliseconds (100ms), microseconds (500us) or nanoseconds (500ns)';

/** The parameters of the filter, with nbdkit's names. */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'delay-read', description: `delay reads by ${UNITS} (default 0)` },
  { name: 'rdelay', description: 'the same as delay-read' },
  { name: 'delay-write', description: 'delay writes (default 0)' },
  { name: 'delay-zero', description: 'delay zeroes (default 0)' },
  { name: 'delay-trim', description: 'delay trims (default 0)' },
  { name: 'wdelay', description: 'delay writes, zeroes and trims' },
  { name: 'delay-extents', description: 'delay block status requests (default 0)' },
  { name: 'delay-cache', description: 'delay cache requests (default 0)' },
  { name: 'delay-open', description: 'delay each connection before it opens (default 0)' },
  { name: 'delay-close', description: 'delay each connection as it closes (default 0)' },
  { name: 'delay-fast-zero', description: 'false: fail fast zero requests at once with ENOTSUP instead of delaying them (default true)' },
];

/** The filter's configuration: no delay anywhere by default. */
export class Settings {
  readonly delays: Delays = { read: 0, write: 0, zero: 0, trim: 0, extents: 0, cache: 0, open: 0, close: 0 };
  /** Whether a FAST_ZERO zero is delayed and passed on (true) or failed at once (false). */
  fastZero = true;

  /** Takes one `key=value`; throws a message naming the key when the value is wrong. The last one given wins. */
  config(key: string, value: string): void {
    if (key === 'delay-fast-zero') {
      this.fastZero = parseBool(key, value);
      return;
    }
    const ms = parseDelay(key, value);
    const d = this.delays;
    switch (key) {
      case 'rdelay':
      case 'delay-read':
        d.read = ms;
        return;
      case 'wdelay':
        d.write = d.zero = d.trim = ms;
        return;
      case 'delay-write':
        d.write = ms;
        return;
      case 'delay-zero':
        d.zero = ms;
        return;
      case 'delay-trim':
        d.trim = ms;
        return;
      case 'delay-extents':
        d.extents = ms;
        return;
      case 'delay-cache':
        d.cache = ms;
        return;
      case 'delay-open':
        d.open = ms;
        return;
      case 'delay-close':
        d.close = ms;
        return;
      default:
        throw new Error(`${key}: not a parameter of the delay filter`);
    }
  }
}
