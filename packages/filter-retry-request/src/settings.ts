import { parseBool, parseDelay, parseInteger, type ParamSpec } from '@nbdkit-ts/core';

/** The most retries one request may be given, as nbdkit. */
const MAX_RETRIES = 1000;

/** The filter's parameters, with nbdkit's names and defaults. */
export class Settings {
  /** How many times a failed request (or open) is tried again; 0: the filter passes calls through. */
  retries = 2;
  /** How long to wait before each retry, in milliseconds. */
  delayMs = 2000;
  /** Whether a failed open is retried like a request. */
  retryOpen = true;

  static readonly params: readonly ParamSpec[] = [
    { name: 'retry-request-retries', description: `how many times a failed request is retried (default 2, at most ${MAX_RETRIES}; 0: never)` },
    { name: 'retry-request-delay', description: 'how long to wait before each retry: seconds (2, 0.5) or milliseconds (500ms) (default 2)' },
    { name: 'retry-request-open', description: 'retry a failed open of the layer beneath too (default true)' },
  ];

  /** Takes one `key=value` of {@link Settings.params}; throws a message naming the key when the value is wrong. */
  config(key: string, value: string): void {
    if (key === 'retry-request-retries') this.retries = parseInteger(key, value, 0, MAX_RETRIES);
    else if (key === 'retry-request-delay') this.delayMs = parsePositiveDelay(key, value);
    else this.retryOpen = parseBool(key, value);
  }
}

function parsePositiveDelay(key: string, value: string): number {
  const ms = parseDelay(key, value);
  if (ms <= 0) throw new Error(`${key}=${value}: the delay must be more than 0`);
  return ms;
}
