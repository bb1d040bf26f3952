import { totalmem } from 'node:os';
import { errorMessage, parseBool } from '@nbdkit-ts/core';
import { MallocStore } from './malloc-store.js';
import { SparseStore } from './sparse-store.js';
import type { Store } from './store.js';

/** How the disk is held in memory: `allocator=sparse` (the default) or `allocator=malloc`. */
export type Allocator = 'sparse' | 'malloc';

/**
 * Parses `allocator=TYPE[,OPTION=VALUE...]` as nbdkit spells it. `zstd` and
 * `malloc,mlock=true` are refused: Node.js 20 has neither zstd nor mlock.
 * Throws an error naming the parameter otherwise.
 */
export function parseAllocator(key: string, value: string): Allocator {
  const [type = '', ...options] = value.split(',');
  if (type === 'zstd') throw new Error(`${key}=${value}: zstd is not supported (Node.js 20 has no zstd); use sparse or malloc`);
  if (type !== 'sparse' && type !== 'malloc') throw new Error(`${key}=${value}: expected sparse or malloc`);
  for (const option of options) {
    const [name, setting = ''] = option.split('=', 2) as [string, string?];
    if (type !== 'malloc' || name !== 'mlock') throw new Error(`${key}=${value}: ${type} has no option ${name}`);
    if (parseBool(`${key}=${value}: mlock`, setting)) throw new Error(`${key}=${value}: mlock is not supported (Node.js cannot lock memory)`);
  }
  return type;
}

/** Makes the store of a disk of `size` bytes; throws an error naming the allocator when the memory cannot be had. */
export function createStore(allocator: Allocator, size: bigint): Store {
  if (allocator === 'sparse') return new SparseStore(size);
  if (size > BigInt(totalmem())) {
    throw new Error(`allocator=malloc: ${size} bytes is more than the machine's memory (${totalmem()} bytes); use allocator=sparse`);
  }
  try {
    return new MallocStore(size);
  } catch (e) {
    throw new Error(`allocator=malloc: cannot allocate ${size} bytes: ${errorMessage(e)}`, { cause: e });
  }
}
