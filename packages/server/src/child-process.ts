import { createRequire } from 'node:module';

/**
 * node:child_process, loaded when first asked for. A server needs it only to
 * run a command, go to the background or ask npm where global packages are,
 * and loading it up front is a good part of what start-up would load.
 */
export function childProcess(): typeof import('node:child_process') {
  return createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
}
