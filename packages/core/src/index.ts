/**
 * `@nbdkit-ts/core`: the context API that nbdkit-ts plugins and filters are
 * written against. Types, and a tiny runtime with no Node.js imports.
 *
 * @packageDocumentation
 */
export { API_VERSION, type ApiVersion } from './api-version.js';
export type { BlockSize, Capabilities, Support } from './capabilities.js';
export { isConcurrency, stricterConcurrency, type Concurrency } from './concurrency.js';
export type { ConnectionInfo, Context } from './context.js';
export { DATA_METHODS, type DataMethods } from './data-methods.js';
export { defineFilter, definePlugin, type FilterDefinition, type FilterSpec, type PluginDefinition, type PluginSpec } from './define.js';
export { errnoCodeOf, errorCode, errorMessage, nbdError, NbdkitError, type ErrnoCode } from './errors.js';
export { ExtentList, ExtentType, type Extent } from './extents.js';
export type { Filter } from './filter.js';
export { Flag, type Flags } from './flags.js';
export type { FilterHandle, Handle, PluginCapabilities, PluginHandle } from './handle.js';
export type { LayerDefinition } from './layer.js';
export type { BackgroundTask, Host, Logger } from './logger.js';
export { afterCall, isPromise, type MaybePromise } from './maybe-promise.js';
export { Mutex } from './mutex.js';
export { RangeLock } from './range-lock.js';
export { Semaphore } from './semaphore.js';
export type { SendFile, SendFrom } from './send-from.js';
export { seededRandom } from './seeded-random.js';
export type { Backend, ClientInfo, ExportInfo, Next, OpenOptions } from './next.js';
export { countToBigint, MAX_U32, MAX_U64, toCount, toSafeNumber } from './convert.js';
export { isErrnoName, MAX_DELAY_MS, parseBool, parseDelay, parseErrnoName, parseInteger, parseSize, type ParamSpec } from './params.js';
export { readSecret } from './secret.js';
export type { Plugin } from './plugin.js';
