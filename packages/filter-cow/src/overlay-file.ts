import { randomUUID } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, nbdError, toSafeNumber } from '@nbdkit-ts/core';

/** Where overlays are made: $TMPDIR, or /var/tmp as nbdkit does. */
export function overlayDir(): string {
  const dir = process.env.TMPDIR;
  return dir === undefined || dir === '' ? '/var/tmp' : dir;
}

/**
 * A temporary file holding the blocks written through the filter, at their
 * offsets in the disk (sparse where nothing was written). It is unlinked as
 * soon as it is open, so nothing is left behind however the server ends.
 */
export class OverlayFile {
  private constructor(private readonly fh: FileHandle) {}

  /** Creates the file in {@link overlayDir}; the error names the folder. */
  static async create(): Promise<OverlayFile> {
    const dir = overlayDir();
    const path = join(dir, `nbdkit-ts-cow-${randomUUID()}`);
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx+', 0o600);
    } catch (e) {
      throw nbdError('EIO', `cannot create the overlay in ${dir} (set TMPDIR to a writable folder): ${errorMessage(e)}`, e);
    }
    await unlink(path).catch(async (e: unknown) => {
      await fh.close();
      throw e;
    });
    return new OverlayFile(fh);
  }

  /** Fills `buf` from `offset`; the range must have been written. */
  async read(buf: Uint8Array, offset: bigint): Promise<void> {
    const at = toSafeNumber(offset, 'overlay offset');
    for (let done = 0; done < buf.length; ) {
      const { bytesRead } = await this.fh.read(buf, done, buf.length - done, at + done);
      if (bytesRead === 0) throw nbdError('EIO', `overlay: short read at ${at + done}`);
      done += bytesRead;
    }
  }

  /** Writes all of `buf` at `offset`. */
  async write(buf: Uint8Array, offset: bigint): Promise<void> {
    const at = toSafeNumber(offset, 'overlay offset');
    for (let done = 0; done < buf.length; ) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, at + done);
      done += bytesWritten;
    }
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
