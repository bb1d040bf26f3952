import type { Concurrency, ParamSpec } from '@nbdkit-ts/core';

/** The filter's parameters, with nbdkit's names (and its British spelling). */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'serialize', description: "'requests' (default): one request at a time per connection, 'all-requests': one in the whole server, 'connections': one client at a time" },
  { name: 'serialise', description: 'the same as serialize' },
];

/** The values of `serialize=`, and the concurrency each one declares. */
const MODES: Readonly<Record<string, Concurrency>> = {
  requests: 'serialize-requests',
  'all-requests': 'serialize-all-requests',
  all_requests: 'serialize-all-requests',
  connections: 'serialize-connections',
};

/** Parses `serialize=MODE` (or `serialise=`); throws a message naming the key when the mode is unknown. */
export function parseSerializeMode(key: string, value: string): Concurrency {
  const concurrency = Object.hasOwn(MODES, value) ? MODES[value] : undefined;
  if (concurrency === undefined) throw new Error(`${key}=${value}: unknown mode: expected requests, all-requests or connections`);
  return concurrency;
}
