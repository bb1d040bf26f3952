/**
 * `@nbdkit-ts/filter-cache`: a local cache of the disk beneath, in a
 * temporary file shared by every connection, with nbdkit's write modes,
 * cache-on-read and a size limit kept by a background reclaim. See README.md
 * for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, nbdError, type Backend, type FilterHandle, type Host } from '@nbdkit-ts/core';
import { Cache } from './cache.js';
import { cacheHandle } from './handle.js';
import { PARAMS, Settings } from './settings.js';

export type { CacheMode } from './settings.js';

export default defineFilter<FilterHandle>(() => {
  const settings = new Settings();
  let backend: Backend | undefined;
  let host: Host | undefined;
  /** The cache, made by the first connection (it names the export cached). */
  let cache: Promise<Cache> | undefined;
  let exportName = '';

  return {
    apiVersion: 1,
    name: 'cache',
    description: 'a local cache of the disk beneath, shared by every connection',
    params: PARAMS,
    concurrency: 'parallel',
    config(key, value) {
      settings.config(key, value);
    },
    configComplete() {
      settings.check();
    },
    ready(below, h) {
      backend = below;
      host = h;
    },
    async open(context) {
      if (cache === undefined) {
        exportName = context.exportName;
        cache = Cache.create(backend as Backend, host as Host, settings, exportName);
        cache.catch(() => (cache = undefined));
      } else if (context.exportName !== exportName) {
        throw nbdError('ENOENT', `the cache holds export "${exportName}" for every connection; "${context.exportName}" cannot be served`);
      }
      return cacheHandle(await cache, settings.mode === 'writeback');
    },
    async cleanup() {
      const c = cache;
      cache = undefined;
      await (await c?.catch(() => undefined))?.close();
    },
  };
});
