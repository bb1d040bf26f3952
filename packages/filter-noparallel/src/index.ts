/**
 * `@nbdkit-ts/filter-noparallel`: lowers the concurrency of the stack, so
 * that requests (of one connection or of all of them), or whole
 * connections, are served one at a time. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type Concurrency, type FilterHandle } from '@nbdkit-ts/core';
import { PARAMS, parseSerializeMode } from './serialize-mode.js';

export default defineFilter<FilterHandle>(() => {
  let chosen: Concurrency = 'serialize-requests';
  return {
    apiVersion: 1,
    name: 'noparallel',
    description: 'serve requests, or connections, one at a time',
    params: PARAMS,
    // The server reads it after configComplete: the mode given on the command line.
    get concurrency(): Concurrency {
      return chosen;
    },
    config(key, value) {
      chosen = parseSerializeMode(key, value);
    },
  };
});
