import { nbdError, parseSize, type ParamSpec } from '@nbdkit-ts/core';
import type { Window } from './window.js';

/**
 * The window the offset filter serves, as configured: from `offset=`
 * (default 0), for `range=` bytes (default: to the end of the disk beneath).
 */
export class OffsetRange {
  /** The filter's parameters, with nbdkit's names. */
  static readonly params: readonly ParamSpec[] = [
    { name: 'offset', description: 'first byte of the disk beneath that is served (default 0)' },
    { name: 'range', description: 'how many bytes are served (default: from the offset to the end of the disk beneath)' },
  ];

  private offset = 0n;
  private range: bigint | undefined;

  /** Takes one of the keys in `params`; throws a message naming it when the value is wrong. The last one given wins. */
  config(key: string, value: string): void {
    const size = parseSize(key, value);
    if (key === 'offset') this.offset = size;
    else this.range = size;
  }

  /** The window over a disk beneath of `below` bytes. Throws EINVAL when it does not fit in that disk. */
  windowOver(below: bigint): Window {
    if (this.range === undefined) {
      if (this.offset > below) {
        throw nbdError('EINVAL', `offset: offset=${this.offset} is beyond the end of the disk beneath (${below} bytes)`);
      }
      return { offset: this.offset, size: below - this.offset };
    }
    if (this.offset + this.range > below) {
      throw nbdError(
        'EINVAL',
        `offset: offset=${this.offset} range=${this.range} ends at byte ${this.offset + this.range}, beyond the end of the disk beneath (${below} bytes)`,
      );
    }
    return { offset: this.offset, size: this.range };
  }
}
