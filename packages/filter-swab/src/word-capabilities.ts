import type { BlockSize, Capabilities } from '@nbdkit-ts/core';

/** The largest maximum block size: no limit below the protocol's. */
const NO_MAXIMUM = 0xffffffff;
/** The preferred block size when the layer beneath states none (what the server advertises then). */
const DEFAULT_PREFERRED = 4096;

/**
 * What changes over the capabilities `below` when requests must be made of
 * whole `word`-byte words: the size is rounded down to whole words, and the
 * minimum block size is at least a word.
 */
export function wordCapabilities(below: Capabilities, word: number): Partial<Capabilities> {
  const w = BigInt(word);
  return { size: below.size - (below.size % w), blockSize: wordBlockSize(below.blockSize, word) };
}

/**
 * The block size of `below` with a minimum of at least `word` bytes. The
 * preferred size (a power of two, at least 512) is already a multiple of a
 * word; the maximum is rounded down to a multiple of the new minimum.
 */
function wordBlockSize(below: BlockSize | undefined, word: number): BlockSize {
  if (below === undefined) return { minimum: word, preferred: DEFAULT_PREFERRED, maximum: NO_MAXIMUM };
  const minimum = Math.max(below.minimum, word);
  const maximum = below.maximum === NO_MAXIMUM ? NO_MAXIMUM : below.maximum - (below.maximum % minimum);
  return { minimum, preferred: below.preferred, maximum };
}
