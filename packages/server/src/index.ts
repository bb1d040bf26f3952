/**
 * `@nbdkit-ts/server`: the NBD server of nbdkit-ts, its CLI `nbdkit-ts`, and
 * an API to embed it in a Node.js program.
 *
 * @packageDocumentation
 */
export { createServer, NbdServer, type ListenAddress, type ListenTarget, type ServerOptions } from './server.js';
export type { LogSink } from './log/logger.js';
export { LayerNotFound, resolveLayer, searchBases, type LayerKind } from './loader/resolve.js';
