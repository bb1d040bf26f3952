import { parseBool, type ParamSpec } from '@nbdkit-ts/core';

/** The longest delay a timer can wait (setTimeout's limit, about 24.8 days), in milliseconds. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** Parses `retries=N`: a whole number, 0 to turn retrying off. */
export function parseRetries(key: string, value: string): number {
  const v = value.trim();
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`${key}=${value}: expected a whole number of retries (0 turns retrying off)`);
  return n;
}

/**
 * Parses a delay: seconds (`2`, `0.5`, `2s`) or milliseconds (`500ms`), more
 * than 0 and at most {@link MAX_DELAY_MS}. Returns milliseconds.
 */
export function parseDelay(key: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)?\s*$/.exec(value);
  if (m === null) throw new Error(`${key}=${value}: expected a delay in seconds (2, 0.5, 2s) or milliseconds (500ms)`);
  const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
  if (ms <= 0) throw new Error(`${key}=${value}: the delay must be more than 0`);
  if (ms > MAX_DELAY_MS) throw new Error(`${key}=${value}: the delay must be at most ${MAX_DELAY_MS / 1000} seconds`);
  return ms;
}

/**
 * Parses `retry-errors=EIO,ESHUTDOWN,...` (any case), or `all`. Returns the
 * set of codes, or undefined for all. A name is any errno-style code (E
 * followed by capitals and digits): the codes a layer's errors can carry.
 */
export function parseErrorList(key: string, value: string): ReadonlySet<string> | undefined {
  const names = value.split(',').map((n) => n.trim().toUpperCase());
  if (names.length === 1 && names[0] === 'ALL') return undefined;
  for (const n of names) {
    if (!/^E[A-Z0-9]+$/.test(n)) {
      throw new Error(`${key}=${value}: "${n}" is not an errno name (expected a list such as EIO,ESHUTDOWN, or all)`);
    }
  }
  return new Set(names);
}

/** The filter's parameters; nbdkit's retry-filter names are kept. */
export class Settings {
  /** How many times one request (or the first open) is retried; 0: the filter only passes calls through. */
  retries = 5;
  /** Delay before the first retry of a request, in milliseconds. */
  delayMs = 2000;
  /** Whether the delay doubles with each further retry of a request. */
  exponential = true;
  /** Whether contexts are reopened read-only and writes fail with EROFS after the first reopen. */
  readonlyAfterReopen = false;
  /** The codes that are retried; undefined: all. */
  private errors: ReadonlySet<string> | undefined;

  static readonly params: readonly ParamSpec[] = [
    { name: 'retries', description: 'how many times a failed request (or open) is retried (default 5; 0: never)' },
    { name: 'retry-delay', description: 'delay before the first retry: seconds (2, 0.5) or milliseconds (500ms) (default 2)' },
    { name: 'retry-exponential', description: 'double the delay at each further retry (default yes)' },
    { name: 'retry-readonly', description: 'after the first reopen, reopen read-only and fail writes with EROFS (default no)' },
    { name: 'retry-errors', description: 'the error codes that are retried, as EIO,ESHUTDOWN,... (default all)' },
  ];

  /** Takes one `key=value`; throws a message naming the key when the value is wrong. */
  config(key: string, value: string): void {
    switch (key) {
      case 'retries':
        this.retries = parseRetries(key, value);
        break;
      case 'retry-delay':
        this.delayMs = parseDelay(key, value);
        break;
      case 'retry-exponential':
        this.exponential = parseBool(key, value);
        break;
      case 'retry-readonly':
        this.readonlyAfterReopen = parseBool(key, value);
        break;
      case 'retry-errors':
        this.errors = parseErrorList(key, value);
        break;
      default:
        throw new Error(`${key}: not a parameter of the reopen filter`);
    }
  }

  /** Whether a failure with this errno-style code is retried. */
  retriesCode(code: string): boolean {
    return this.errors === undefined || this.errors.has(code);
  }

  /** The delay before the retry after one that waited `ms`. */
  nextDelay(ms: number): number {
    return this.exponential ? Math.min(ms * 2, MAX_DELAY_MS) : ms;
  }
}
