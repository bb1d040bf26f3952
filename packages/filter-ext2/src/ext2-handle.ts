import { Flag, type Capabilities, type ExtentList, type FilterHandle, type Flags } from '@nbdkit-ts/core';
import type { Filesystem } from './ext2fs/filesystem.js';
import type { FsFile } from './ext2fs/fs-file.js';

/**
 * One connection's view of a file: every data call goes to the shared
 * filesystem (no context is associated below this filter). On a read-only
 * connection the server gives the view read-only capabilities and refuses
 * its writes with EROFS.
 */
export class Ext2Handle implements FilterHandle {
  constructor(
    private readonly fs: Filesystem,
    private readonly file: FsFile,
  ) {}

  capabilities(): Capabilities {
    const canWrite = this.fs.writable;
    return {
      size: this.file.size,
      canWrite,
      canFlush: true,
      isRotational: false,
      canTrim: false,
      canZero: canWrite ? 'native' : 'none',
      canFastZero: false,
      canFua: canWrite ? 'native' : 'none',
      canMultiConn: true,
      canExtents: true,
      canCache: 'emulate',
      blockSize: undefined,
    };
  }

  pread(buf: Uint8Array, offset: bigint): Promise<void> {
    return this.file.pread(buf, offset);
  }

  async pwrite(buf: Uint8Array, offset: bigint, flags: Flags): Promise<void> {
    await this.file.pwrite(buf, offset);
    if (flags & Flag.FUA) await this.fs.flush();
  }

  async zero(count: number, offset: bigint, flags: Flags): Promise<void> {
    await this.file.zero(count, offset);
    if (flags & Flag.FUA) await this.fs.flush();
  }

  flush(): Promise<void> {
    return this.fs.flush();
  }

  extents(count: number, offset: bigint, _flags: Flags, list: ExtentList): Promise<void> {
    return this.file.extents(count, offset, list);
  }
}
