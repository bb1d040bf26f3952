import { nbdError, type FilterHandle, type Next } from '@nbdkit-ts/core';
import { alignedExtents } from './aligned-extents.js';
import { swapWords } from './swap-words.js';
import { wordCapabilities } from './word-capabilities.js';

/**
 * The handle of one connection over `next`, the Next associated with it:
 * the bytes of every `word`-byte word (2, 4 or 8) are swapped on the way in
 * and out. Every request but flush must be made of whole words, and fails
 * with EINVAL otherwise. Flush passes through.
 */
export function swappingHandle(next: Next, word: number): FilterHandle {
  const w = BigInt(word);
  const aligned = (call: string, count: number, offset: bigint): void => {
    if (count % word !== 0 || offset % w !== 0n) {
      throw nbdError('EINVAL', `swab: ${call} of ${count} bytes at ${offset} is not aligned to ${word}-byte words`);
    }
  };
  return {
    capabilities: () => wordCapabilities(next.capabilities, word),
    async pread(buf, offset, flags) {
      aligned('pread', buf.length, offset);
      await next.pread(buf, offset, flags);
      swapWords(buf, word);
    },
    async pwrite(buf, offset, flags) {
      aligned('pwrite', buf.length, offset);
      // The caller's buffer is left as it is: the words are swapped in a copy.
      const swapped = new Uint8Array(buf);
      swapWords(swapped, word);
      await next.pwrite(swapped, offset, flags);
    },
    async trim(count, offset, flags) {
      aligned('trim', count, offset);
      await next.trim(count, offset, flags);
    },
    async zero(count, offset, flags) {
      aligned('zero', count, offset);
      await next.zero(count, offset, flags);
    },
    async cache(count, offset, flags) {
      aligned('cache', count, offset);
      await next.cache(count, offset, flags);
    },
    async extents(count, offset, flags, extents) {
      aligned('extents', count, offset);
      await alignedExtents(next, w, count, offset, flags, extents);
    },
  };
}
