import { Advice, type NativeFileOps } from './native.js';

/** How many recent writes may stay in the page cache while the kernel writes them back. */
const WINDOWS = 8;

/**
 * The largest folio the kernel keeps file pages in (a PMD, 2 MiB on x86-64).
 * posix_fadvise DONTNEED drops only folios wholly inside its range, and
 * read-ahead fills large folios, so a range dropped after a small read leaves
 * the folio it ends in. Folios are aligned to their size: dropping from the
 * start of the aligned 2 MiB block before the range also drops the folio that
 * a series of smaller reads or writes completed.
 */
const FOLIO = 2 * 1024 * 1024;

const folioStart = (offset: number) => offset - (offset % FOLIO);

/**
 * `cache=none`: keeps a file's pages out of the host's page cache. Pages
 * just read are dropped at once (with the rest of their 2 MiB block). Pages just written are dirty and cannot be
 * dropped yet: their write-back is started at once, and once eight newer
 * writes have followed, a worker thread waits for it to finish and drops
 * them. The write that pushes a range out waits for that, which also keeps a
 * fast writer from running ahead of the disk. The last ones go when the file
 * is closed.
 */
export class PageCacheEvictor {
  private readonly offsets: number[] = [];
  private readonly lengths: number[] = [];
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly native: NativeFileOps,
    private readonly fd: number,
  ) {}

  /** After a read: drop the pages just read. */
  afterRead(offset: number, length: number): void {
    const from = folioStart(offset);
    this.native.fadvise(this.fd, from, offset + length - from, Advice.DONTNEED);
  }

  /** After a write: start write-back; returns a promise when the oldest range is being evicted. */
  afterWrite(offset: number, length: number): Promise<void> | undefined {
    this.native.startWriteback(this.fd, offset, length);
    const from = folioStart(offset);
    this.offsets.push(from);
    this.lengths.push(offset + length - from);
    if (this.offsets.length <= WINDOWS) return undefined;
    const evict = this.native.evictAsync(this.fd, this.offsets.shift() as number, this.lengths.shift() as number);
    this.pending = this.pending.then(() => evict);
    return evict;
  }

  /**
   * Before the file is closed: evicts the recent writes too, and waits for
   * every eviction (the descriptor must stay valid for them).
   */
  async close(): Promise<void> {
    while (this.offsets.length > 0) {
      const evict = this.native.evictAsync(this.fd, this.offsets.shift() as number, this.lengths.shift() as number);
      this.pending = this.pending.then(() => evict);
    }
    await this.pending;
  }
}
