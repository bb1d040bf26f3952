import { nbdError, parseSize, type Capabilities } from '@nbdkit-ts/core';

/**
 * The window of the disk beneath that the filter serves, as configured:
 * `offset=` (default 0) and `range=` (default: to the end of the disk).
 */
export class Window {
  offset = 0n;
  range: bigint | undefined;

  /** The filter's parameters, for `--help` and routing. */
  static readonly params = [
    { name: 'offset', description: 'first byte of the disk beneath that is served (default 0)' },
    { name: 'range', description: 'how many bytes are served (default: to the end of the disk beneath)' },
  ];

  /** Takes one `key=value`; throws a message naming the parameter when the value is wrong. */
  config(key: string, value: string): void {
    const size = parseSize(key, value);
    if (key === 'offset') {
      this.offset = size;
    } else {
      if (size === 0n) throw new Error(`${key}=${value}: the range must not be empty`);
      this.range = size;
    }
  }

  /**
   * The size of the export, given what the layer beneath can do. Throws EINVAL
   * when the window does not fit in the disk beneath or breaks its alignment.
   */
  sizeOver(below: Capabilities): bigint {
    if (this.offset > below.size) {
      throw nbdError('EINVAL', `offset=${this.offset} is beyond the end of the disk beneath (${below.size} bytes)`);
    }
    const size = this.range ?? below.size - this.offset;
    if (this.offset + size > below.size) {
      throw nbdError('EINVAL', `offset=${this.offset} range=${size} ends beyond the end of the disk beneath (${below.size} bytes)`);
    }
    const minimum = BigInt(below.blockSize?.minimum ?? 1);
    if (this.offset % minimum !== 0n || size % minimum !== 0n) {
      throw nbdError('EINVAL', `offset=${this.offset} range=${size}: the disk beneath needs multiples of ${minimum} bytes`);
    }
    return size;
  }
}
