import { Flag, type ExtentList, type PluginCapabilities, type PluginHandle } from '@nbdkit-ts/core';
import type { S3Disk } from './s3-disk.js';

/**
 * One connection's view of the shared disk. Every write is acknowledged
 * only once the store acknowledged it, so FUA needs nothing more and flush
 * has nothing to do; connections share the disk and its chunk locks, so
 * multi-conn is safe.
 */
export class S3Handle implements PluginHandle {
  constructor(
    private readonly disk: S3Disk,
    private readonly writable: boolean,
  ) {}

  capabilities(): PluginCapabilities {
    return {
      size: this.disk.layout.size,
      canWrite: this.writable,
      canFlush: true,
      canFua: 'native',
      canTrim: true,
      canZero: 'native',
      canFastZero: true,
      canMultiConn: true,
      canExtents: true,
      blockSize: { minimum: 1, preferred: this.disk.layout.objectSize, maximum: 0xffffffff },
    };
  }

  pread(buf: Uint8Array, offset: bigint): Promise<void> {
    return this.disk.read(buf, offset);
  }

  pwrite(buf: Uint8Array, offset: bigint): Promise<void> {
    return this.disk.write(buf, offset);
  }

  flush(): void {}

  trim(count: number, offset: bigint): Promise<void> {
    return this.disk.zero(count, offset, false);
  }

  zero(count: number, offset: bigint, flags: number): Promise<void> {
    return this.disk.zero(count, offset, (flags & Flag.FAST_ZERO) !== 0);
  }

  extents(count: number, offset: bigint, _flags: number, list: ExtentList): Promise<void> {
    return this.disk.extents(count, offset, list);
  }
}
