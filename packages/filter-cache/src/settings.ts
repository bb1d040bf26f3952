import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseBool, parseInteger, parseSize, type ParamSpec } from '@nbdkit-ts/core';

/** What happens to writes (`cache=`). */
export type CacheMode = 'writeback' | 'writethrough' | 'unsafe';

const MODES: readonly CacheMode[] = ['writeback', 'writethrough', 'unsafe'];

/** The default block size: one round trip to the disk beneath fetches this much. */
export const DEFAULT_BLOCK_SIZE = 1 << 20;
/** The largest block size: one block is one buffer in memory. */
export const MAX_BLOCK_SIZE = 64 << 20;

/** The parameters of the filter, with nbdkit's names. */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'cache', description: 'writeback (default), writethrough or unsafe' },
  { name: 'cache-min-block-size', description: 'block size of the cache, a power of 2 from 4K (default 1M)' },
  { name: 'cache-max-size', description: 'reclaim the least recently used blocks when the cache grows beyond this (default: no limit)' },
  { name: 'cache-high-threshold', description: 'percentage of cache-max-size at which reclaiming starts (default 95)' },
  { name: 'cache-low-threshold', description: 'percentage of cache-max-size at which reclaiming stops (default 80)' },
  { name: 'cache-on-read', description: 'true, false (default) or /PATH: also keep what reads fetch (while /PATH exists)' },
  { name: 'cache-dir', description: 'folder of the cache file (default $TMPDIR, else /var/tmp)' },
];

function parseDir(key: string, value: string): string {
  const dir = resolve(value);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // answered below
  }
  if (!isDir) throw new Error(`${key}=${value}: not a folder`);
  return dir;
}

/** The filter's configuration; the defaults are nbdkit's except the block size. */
export class Settings {
  mode: CacheMode = 'writeback';
  blockSize = DEFAULT_BLOCK_SIZE;
  /** Bytes; undefined: no limit. */
  maxSize: bigint | undefined;
  highPercent = 95;
  lowPercent = 80;
  /** true, false, or the path whose existence turns it on. */
  onRead: boolean | string = false;
  dir: string | undefined;

  /** Takes one `key=value`; throws a message naming the key when the value is wrong. The last one given wins. */
  config(key: string, value: string): void {
    switch (key) {
      case 'cache':
        if (!(MODES as readonly string[]).includes(value)) throw new Error(`${key}=${value}: expected one of ${MODES.join(', ')}`);
        this.mode = value as CacheMode;
        return;
      case 'cache-min-block-size': {
        const size = parseSize(key, value);
        if (size < 4096n || size > BigInt(MAX_BLOCK_SIZE) || (size & (size - 1n)) !== 0n) {
          throw new Error(`${key}=${value}: expected a power of 2 from 4K to ${MAX_BLOCK_SIZE >> 20}M`);
        }
        this.blockSize = Number(size);
        return;
      }
      case 'cache-max-size':
        this.maxSize = parseSize(key, value);
        if (this.maxSize === 0n) throw new Error(`${key}=${value}: the cache must be able to hold something`);
        return;
      case 'cache-high-threshold':
        this.highPercent = parseInteger(key, value, 1, 99);
        return;
      case 'cache-low-threshold':
        this.lowPercent = parseInteger(key, value, 1, 99);
        return;
      case 'cache-on-read':
        if (value.startsWith('/')) this.onRead = value;
        else if (value.includes('/')) throw new Error(`${key}=${value}: a path must be absolute`);
        else this.onRead = parseBool(key, value);
        return;
      case 'cache-dir':
        this.dir = parseDir(key, value);
        return;
      default:
        throw new Error(`${key}: not a parameter of the cache filter`);
    }
  }

  /** Checks what only the whole configuration can tell. */
  check(): void {
    if (this.lowPercent >= this.highPercent) {
      throw new Error(`cache-low-threshold=${this.lowPercent} must be below cache-high-threshold=${this.highPercent}`);
    }
  }
}
