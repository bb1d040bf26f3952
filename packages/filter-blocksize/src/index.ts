/**
 * `@nbdkit-ts/filter-blocksize`: cuts and aligns requests to the block
 * sizes the layer beneath takes, with read-modify-write for partial blocks.
 * See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, type FilterHandle } from '@nbdkit-ts/core';
import { blocksizeHandle } from './blocksize-handle.js';
import { LimitConfig, PARAMS } from './limits.js';
import { SharedRangeLock } from './shared-range-lock.js';

export default defineFilter<FilterHandle>(() => {
  const config = new LimitConfig();
  // One lock for every connection: they may write to the same disk.
  const lock = new SharedRangeLock();
  return {
    apiVersion: 1,
    name: 'blocksize',
    description: 'cut and align requests to the block sizes the layer beneath takes',
    params: PARAMS,
    concurrency: 'parallel',
    config(key, value) {
      config.config(key, value);
    },
    configComplete() {
      config.configComplete();
    },
    async open(context) {
      const next = await context.openNext();
      const limits = config.limitsOver(next.capabilities.blockSize, context.backend.name);
      context.log.debug(`minblock=${limits.minblock} maxdata=${limits.maxdata} maxlen=${limits.maxlen}`);
      return blocksizeHandle(next, limits, lock, context.log);
    },
  };
});
