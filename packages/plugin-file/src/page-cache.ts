import { Advice, type NativeFileOps } from './native.js';

/** How many recent writes may stay in the page cache while the kernel writes them back. */
const WINDOWS = 8;

/**
 * `cache=none`: keeps a file's pages out of the host's page cache. Pages
 * just read are dropped at once. Pages just written are dirty and cannot be
 * dropped yet: their write-back is started at once, and once eight newer
 * writes have followed, a worker thread waits for it to finish and drops
 * them. The write that pushes a range out waits for that, which also keeps a
 * fast writer from running ahead of the disk.
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
    this.native.fadvise(this.fd, offset, length, Advice.DONTNEED);
  }

  /** After a write: start write-back; returns a promise when the oldest range is being evicted. */
  afterWrite(offset: number, length: number): Promise<void> | undefined {
    this.native.startWriteback(this.fd, offset, length);
    this.offsets.push(offset);
    this.lengths.push(length);
    if (this.offsets.length <= WINDOWS) return undefined;
    const evict = this.native.evictAsync(this.fd, this.offsets.shift() as number, this.lengths.shift() as number);
    this.pending = this.pending.then(() => evict);
    return evict;
  }

  /** Before the file is closed: lets evictions under way finish (the descriptor must stay valid for them). */
  drain(): Promise<void> {
    return this.pending;
  }
}
