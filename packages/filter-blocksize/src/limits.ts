import { MAX_U32, nbdError, parseSize, type BlockSize, type ParamSpec } from '@nbdkit-ts/core';

/** The largest minblock, as in nbdkit: the largest minimum block size NBD allows. */
const MAX_MINBLOCK = 64 * 1024;
/** maxdata when neither it nor maxlen is given: the largest request the server takes. */
const DEFAULT_MAXDATA = 64 * 1024 * 1024;
/** The smallest preferred block size the filter advertises. */
const MIN_PREFERRED = 4096;

/** The filter's parameters, with nbdkit's names. */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'minblock', description: 'smallest block, and alignment, of requests to the layer beneath: a power of two up to 64K (default: its minimum, or 1)' },
  { name: 'maxdata', description: 'largest read or write sent to the layer beneath, a multiple of minblock (default: 64M, or less when the layer beneath says so)' },
  { name: 'maxlen', description: 'largest trim, zero, cache or block status sent to the layer beneath, a multiple of minblock (default 4G - minblock)' },
];

/** The sizes one connection's requests are cut to, over the block sizes of its layer beneath. */
export interface Limits {
  /** Every request beneath starts and ends on a multiple of it. */
  readonly minblock: number;
  /** Largest read or write beneath, a multiple of minblock. */
  readonly maxdata: number;
  /** Largest trim, zero, cache or block status beneath, a multiple of minblock. */
  readonly maxlen: number;
}

/** A size parameter as given: its value and how it was written (for messages). */
interface Given {
  readonly size: number;
  readonly text: string;
}

const roundDown = (n: number, multiple: number): number => n - (n % multiple);

/**
 * The filter's configuration: minblock=, maxdata= and maxlen=, each
 * optional. The limits of a connection also depend on the block sizes its
 * layer beneath advertises (see {@link limitsOver}).
 */
export class LimitConfig {
  private minblock: Given | undefined;
  private maxdata: Given | undefined;
  private maxlen: Given | undefined;

  /** Takes one of the keys in {@link PARAMS}; throws a message naming it when the value is wrong. The last one given wins. */
  config(key: string, value: string): void {
    const size = parseSize(key, value);
    if (size === 0n) throw new Error(`${key}=${value}: must not be zero`);
    if (size > BigInt(MAX_U32)) throw new Error(`${key}=${value}: must be at most 4294967295 (4G - 1)`);
    const given = { size: Number(size), text: `${key}=${value}` };
    if (key === 'minblock') {
      if ((given.size & (given.size - 1)) !== 0 || given.size > MAX_MINBLOCK) throw new Error(`${key}=${value}: expected a power of two from 1 to 64K`);
      this.minblock = given;
    } else if (key === 'maxdata') {
      this.maxdata = given;
    } else {
      this.maxlen = given;
    }
  }

  /** Checks that maxdata and maxlen are multiples of minblock. */
  configComplete(): void {
    if (this.minblock === undefined) return;
    for (const given of [this.maxdata, this.maxlen]) {
      if (given !== undefined && given.size % this.minblock.size !== 0) {
        throw new Error(`${given.text}: must be a multiple of ${this.minblock.text}`);
      }
    }
  }

  /**
   * The limits over a layer beneath that advertises `below` (named `layer`):
   * minblock is at least its minimum, maxdata at most its maximum. Throws
   * EINVAL when a request of minblock bytes would break a limit.
   */
  limitsOver(below: BlockSize | undefined, layer: string): Limits {
    const minblock = Math.max(this.minblock?.size ?? 1, below?.minimum ?? 1);
    for (const given of [this.maxlen, this.maxdata]) {
      if (given !== undefined && given.size < minblock) {
        throw nbdError('EINVAL', `blocksize: ${given.text} is smaller than the minimum block size of the layer beneath (${layer}: ${minblock})`);
      }
    }
    if (below !== undefined && below.maximum < minblock) {
      throw nbdError('EINVAL', `blocksize: ${this.minblock?.text ?? 'minblock'} is larger than the maximum block size of the layer beneath (${layer}: ${below.maximum})`);
    }
    let maxdata = this.maxdata?.size ?? Math.min(this.maxlen?.size ?? DEFAULT_MAXDATA, DEFAULT_MAXDATA);
    if (below !== undefined) maxdata = Math.min(maxdata, below.maximum);
    return {
      minblock,
      maxdata: roundDown(maxdata, minblock),
      maxlen: this.maxlen === undefined ? MAX_U32 + 1 - minblock : roundDown(this.maxlen.size, minblock),
    };
  }
}

/**
 * What the filter advertises over a layer beneath that advertises `below`:
 * any request size from 1 byte up (the filter cuts and aligns them), and a
 * preferred size of at least 4096 and minblock, which spares clients the
 * read-modify-write of partial blocks.
 */
export function advertisedBlockSize(below: BlockSize | undefined, limits: Limits): BlockSize {
  return { minimum: 1, preferred: Math.max(below?.preferred ?? 0, MIN_PREFERRED, limits.minblock), maximum: MAX_U32 };
}
