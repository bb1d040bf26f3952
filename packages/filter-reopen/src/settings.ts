import { isErrnoName, MAX_DELAY_MS, parseBool, parseDelay, parseInteger, type ParamSpec } from '@nbdkit-ts/core';

/** The most retries one request may be given. */
const MAX_RETRIES = 1_000_000;

/**
 * Parses `retry-errors=EIO,ESHUTDOWN,...` (any case), or `all`. Returns the
 * set of codes, or undefined for all.
 */
export function parseErrorList(key: string, value: string): ReadonlySet<string> | undefined {
  const names = value.split(',');
  if (names.length === 1 && names[0]?.trim().toLowerCase() === 'all') return undefined;
  return new Set(
    names.map((n) => {
      const name = n.trim().toUpperCase();
      if (!isErrnoName(name)) throw new Error(`${key}=${value}: "${name}" is not an errno name (such as EIO, ENOSPC, EPERM or ESHUTDOWN)`);
      return name;
    }),
  );
}

/** Parses `retry-delay=`: a delay (core's parseDelay) of more than 0. Returns milliseconds. */
function parseRetryDelay(key: string, value: string): number {
  const ms = parseDelay(key, value);
  if (ms <= 0) throw new Error(`${key}=${value}: the delay must be more than 0`);
  return ms;
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
        this.retries = parseInteger(key, value, 0, MAX_RETRIES);
        break;
      case 'retry-delay':
        this.delayMs = parseRetryDelay(key, value);
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
