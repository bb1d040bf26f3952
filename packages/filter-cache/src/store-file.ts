import { randomUUID } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, nbdError } from '@nbdkit-ts/core';
import type { PunchHole } from './punch-hole.js';

/** Where the cache file goes without cache-dir: $TMPDIR, else /var/tmp as in nbdkit. */
export function defaultDir(): string {
  const dir = process.env.TMPDIR;
  return dir === undefined || dir === '' ? '/var/tmp' : dir;
}

/**
 * The cache's blocks, each at its offset in the disk, in a sparse temporary
 * file. The file is unlinked as soon as it is open, so nothing is left behind
 * however the server ends.
 */
export class StoreFile {
  private constructor(
    private readonly fh: FileHandle,
    private readonly punchHole: PunchHole | undefined,
  ) {}

  /** Creates an empty file of `size` bytes in `dir`; the error names the folder. */
  static async create(dir: string, size: number, punchHole: PunchHole | undefined): Promise<StoreFile> {
    const path = join(dir, `nbdkit-ts-cache-${randomUUID()}`);
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx+', 0o600);
    } catch (e) {
      throw nbdError('EIO', `cannot create the cache file in ${dir} (set cache-dir= or TMPDIR to a writable folder): ${errorMessage(e)}`, e);
    }
    try {
      await unlink(path);
      await fh.truncate(size);
      const failed = punchHole?.(fh.fd, 0, size);
      if (failed !== undefined) throw new Error(`cannot punch holes in a file of ${dir} (${failed}), which cache-max-size needs`);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return new StoreFile(fh, punchHole);
  }

  /** Fills `buf` from `offset`. */
  async read(buf: Uint8Array, offset: number): Promise<void> {
    for (let done = 0; done < buf.length; ) {
      const { bytesRead } = await this.fh.read(buf, done, buf.length - done, offset + done);
      if (bytesRead === 0) throw nbdError('EIO', `cache file: short read at ${offset + done}`);
      done += bytesRead;
    }
  }

  /** Writes all of `buf` at `offset`. */
  async write(buf: Uint8Array, offset: number): Promise<void> {
    for (let done = 0; done < buf.length; ) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, offset + done);
      done += bytesWritten;
    }
  }

  /** Gives the space of a range back, when holes can be punched. */
  free(offset: number, length: number): void {
    this.punchHole?.(this.fh.fd, offset, length);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
