/**
 * `@nbdkit-ts/plugin-memory`: a RAM disk shared by every connection, sparse
 * by default (a page table filled on write, released by trim and zero).
 *
 * The stores are exported for plugins that serve memory too (the data plugin).
 *
 * @packageDocumentation
 */
import { definePlugin, parseSize, type PluginHandle } from '@nbdkit-ts/core';
import { createStore, parseAllocator, type Allocator } from './allocator.js';
import { memoryHandle } from './memory-handle.js';
import type { Store } from './store.js';

export { createStore, parseAllocator, type Allocator } from './allocator.js';
export { memoryHandle } from './memory-handle.js';
export { SparseStore } from './sparse-store.js';
export type { Store } from './store.js';

export default definePlugin<PluginHandle>(() => {
  let size: bigint | undefined;
  let allocator: Allocator = 'sparse';
  let store: Store | undefined;
  return {
    apiVersion: 1,
    name: 'memory',
    description: 'a RAM disk, sparse, shared by every connection',
    params: [
      { name: 'size', description: 'size of the disk (required): 1048576, 64K, 1G, ... up to 2^63-1', magic: true },
      { name: 'allocator', description: 'sparse (default: memory taken as pages are written) or malloc (all of it at startup)' },
    ],
    concurrency: 'parallel',
    config(key, value) {
      if (key === 'size') size = parseSize(key, value);
      else allocator = parseAllocator(key, value);
    },
    // As nbdkit's memory plugin says of itself: the mlock and zstd allocators are not available here.
    dumpPlugin: () => 'mlock=no\nzstd=no',
    configComplete() {
      if (size === undefined) throw new Error('size= is required: the size of the disk (nbdkit-ts memory 1G)');
      store = createStore(allocator, size);
    },
    open() {
      return memoryHandle(store as Store);
    },
  };
});
