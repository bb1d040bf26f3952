import { closeSync, fdatasyncSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { errorMessage, nbdError, toSafeNumber } from '@nbdkit-ts/core';

/** One file of the disk: where it starts in the disk, and its length when it was opened. */
interface Segment {
  readonly path: string;
  readonly fd: number;
  readonly start: number;
  readonly length: number;
}

/**
 * The files of one connection, open, end to end. Calls run synchronously on
 * the event loop: a disk made of local files answers quickly, and a request
 * then costs no promise.
 */
export class SplitDisk {
  private readonly segments: Segment[] = [];
  /** Size of the disk: the files' lengths added up. */
  readonly size: bigint;

  constructor(paths: readonly string[], readonly: boolean) {
    let start = 0;
    try {
      for (const path of paths) {
        let fd: number;
        try {
          fd = openSync(path, readonly ? 'r' : 'r+');
        } catch (e) {
          throw nbdError((e as { code?: string }).code ?? 'EIO', `${path}: cannot open${readonly ? '' : ' for writing (serve it with -r?)'}: ${errorMessage(e)}`, e);
        }
        const length = fstatSync(fd).size;
        this.segments.push({ path, fd, start, length });
        start += length;
      }
    } catch (e) {
      this.close();
      throw e;
    }
    this.size = BigInt(start);
  }

  /** Calls `io(segment, bufferOffset, fileOffset, length)` for each piece of `count` bytes at `offset`. */
  private each(count: number, offset: bigint, io: (s: Segment, at: number, position: number, length: number) => void): void {
    const from = toSafeNumber(offset, 'offset');
    const to = from + count;
    for (const s of this.segments) {
      const lo = Math.max(from, s.start);
      const hi = Math.min(to, s.start + s.length);
      if (lo < hi) io(s, lo - from, lo - s.start, hi - lo);
    }
  }

  read(buf: Uint8Array, offset: bigint): void {
    this.each(buf.length, offset, (s, at, position, length) => {
      let done = 0;
      while (done < length) {
        const n = readSync(s.fd, buf, at + done, length - done, position + done);
        if (n === 0) throw nbdError('EIO', `${s.path}: nothing to read at byte ${position + done}: the file is shorter than the ${s.length} bytes it had when the connection began`);
        done += n;
      }
    });
  }

  write(buf: Uint8Array, offset: bigint): void {
    this.each(buf.length, offset, (s, at, position, length) => {
      let done = 0;
      while (done < length) done += writeSync(s.fd, buf, at + done, length - done, position + done);
    });
  }

  flush(): void {
    for (const s of this.segments) fdatasyncSync(s.fd);
  }

  close(): void {
    for (const s of this.segments.splice(0)) closeSync(s.fd);
  }
}
