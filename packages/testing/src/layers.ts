import { fileURLToPath } from 'node:url';

/**
 * Path of the testing kit's `memory` plugin, for `startServer([..., MEMORY_PLUGIN, '64M'])`:
 * a sparse disk in memory (bare word or `size=`: its size, default 16M) with
 * every data call and every capability, shared by the connections of one server.
 */
export const MEMORY_PLUGIN = fileURLToPath(new URL('./layers/memory-plugin.js', import.meta.url));

/**
 * Path of the testing kit's `fault` filter, for `--filter=${FAULT_FILTER}`:
 * data calls touching `fault-offset`/`fault-length` fail with `fault-error`
 * (default EIO), only the calls named in `fault-calls`, and only while
 * `fault-file` exists when it is given (an errno name written in that file
 * overrides `fault-error`).
 */
export const FAULT_FILTER = fileURLToPath(new URL('./layers/fault-filter.js', import.meta.url));
