import { nbdError, parseSize, type ParamSpec } from '@nbdkit-ts/core';

/** The largest size an export can have: 2^63 - 1, as in nbdkit. */
const MAX_SIZE = (1n << 63n) - 1n;

/** Parses `round-up=`/`round-down=`: a size that is a power of two. */
function parsePowerOfTwo(key: string, value: string): bigint {
  const n = parseSize(key, value);
  if (n === 0n || (n & (n - 1n)) !== 0n) throw new Error(`${key}=${value}: expected a power of two, such as 512, 4K or 1M`);
  return n;
}

/**
 * How the filter sizes the export from the size of the disk beneath, as
 * configured: `truncate=` replaces the size, then `round-up=` and
 * `round-down=` round it (each optional, applied in that order, as nbdkit does).
 */
export class SizeRule {
  /** The filter's parameters, with nbdkit's names. */
  static readonly params: readonly ParamSpec[] = [
    { name: 'truncate', description: 'the new size: smaller truncates the disk beneath, larger extends it with zeroes' },
    { name: 'round-up', description: 'round the size up to a multiple of N, a power of two' },
    { name: 'round-down', description: 'round the size down to a multiple of N, a power of two' },
  ];

  private truncate: bigint | undefined;
  private roundUp: bigint | undefined;
  private roundDown: bigint | undefined;

  /** Takes one of the keys in `params`; throws a message naming it when the value is wrong. The last one given wins. */
  config(key: string, value: string): void {
    if (key === 'truncate') this.truncate = parseSize(key, value);
    else if (key === 'round-up') this.roundUp = parsePowerOfTwo(key, value);
    else this.roundDown = parsePowerOfTwo(key, value);
  }

  /** The size of the export over a disk beneath of `below` bytes. Throws EINVAL when rounding up goes past 2^63 - 1. */
  sizeOver(below: bigint): bigint {
    let size = this.truncate ?? below;
    if (this.roundUp !== undefined) {
      const up = ((size + this.roundUp - 1n) / this.roundUp) * this.roundUp;
      if (up > MAX_SIZE) throw nbdError('EINVAL', `truncate: cannot round the size ${size} up to a multiple of ${this.roundUp}: the size would pass 2^63 - 1`);
      size = up;
    }
    if (this.roundDown !== undefined) size -= size % this.roundDown;
    return size;
  }
}
