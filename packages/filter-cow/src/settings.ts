import { existsSync } from 'node:fs';
import { parseBool, parseSize, type ParamSpec } from '@nbdkit-ts/core';

/** When reads copy blocks of the disk beneath into the overlay (cow-on-read). */
export type CopyOnRead = { readonly mode: 'off' | 'on' } | { readonly mode: 'path'; readonly path: string };

/** The filter's configuration. */
export interface Settings {
  /** Bytes per block of the overlay: a power of two from 4 KiB to 2 GiB. */
  blockSize: number;
  /** Cache requests copy blocks into the overlay. */
  copyOnCache: boolean;
  copyOnRead: CopyOnRead;
}

/** The parameters of the filter, with nbdkit's names. */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'cow-block-size', description: 'block size of the overlay, a power of two from 4K to 2G (default 64K)' },
  { name: 'cow-on-cache', description: 'true: cache requests copy blocks into the overlay (default false)' },
  { name: 'cow-on-read', description: 'true, false (default) or /PATH: reads copy blocks into the overlay (with /PATH: while it exists)' },
];

const MIN_BLOCK = 4096;
const MAX_BLOCK = 2 ** 31;

/** The defaults, as in nbdkit. */
export function defaultSettings(): Settings {
  return { blockSize: 65536, copyOnCache: false, copyOnRead: { mode: 'off' } };
}

/** Applies one `key=value`; throws an error naming the parameter when the value is not valid. The last one given wins. */
export function applyParam(settings: Settings, key: string, value: string): void {
  switch (key) {
    case 'cow-block-size': {
      const size = parseSize(key, value);
      if (size < BigInt(MIN_BLOCK) || size > BigInt(MAX_BLOCK) || (size & (size - 1n)) !== 0n) {
        throw new Error(`${key}=${value}: expected a power of two from 4K to 2G`);
      }
      settings.blockSize = Number(size);
      return;
    }
    case 'cow-on-cache':
      settings.copyOnCache = parseBool(key, value);
      return;
    case 'cow-on-read':
      if (value.startsWith('/')) {
        settings.copyOnRead = { mode: 'path', path: value };
        return;
      }
      try {
        settings.copyOnRead = { mode: parseBool(key, value) ? 'on' : 'off' };
      } catch {
        throw new Error(`${key}=${value}: expected true, false or an absolute /PATH`);
      }
      return;
    default:
      throw new Error(`${key}: not a parameter of the cow filter`);
  }
}

/** Whether a read now copies the blocks it reads from the disk beneath into the overlay. */
export function copiesOnRead(settings: Settings): boolean {
  const c = settings.copyOnRead;
  return c.mode === 'path' ? existsSync(c.path) : c.mode === 'on';
}
