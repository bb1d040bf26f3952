import { ExtentType, Flag, type ExtentList, type Flags } from '@nbdkit-ts/core';
import { Chunking } from './chunking.js';
import type { Store } from './store.js';

/** Pages of 32 KiB: memory is taken a page at a time, on the first write to it. */
const pages = new Chunking(15);
const PAGE_SIZE = pages.size;
const PAGE_BIGINT = BigInt(PAGE_SIZE);
/** Pages are counted per region of 128 MiB, so that block status skips a region without pages at once. */
const PAGES_PER_REGION = 4096;
const ZERO_PAGE = new Uint8Array(PAGE_SIZE);
const HOLE = ExtentType.HOLE | ExtentType.ZERO;

/** A page missing is a hole; a page present is data, or zero when it holds only zeroes (zeroes were written). */
function pageType(page: Uint8Array | undefined): number {
  if (page === undefined) return HOLE;
  return Buffer.compare(page, ZERO_PAGE) === 0 ? ExtentType.ZERO : ExtentType.DATA;
}

/**
 * A sparse disk in memory: a table of pages, each allocated when first
 * written and released when zeroed or trimmed whole (or zeroed in part so
 * that it holds only zeroes). Pages never written read as zeroes and are
 * reported as holes; pages written with nothing but zeroes are reported as
 * zero (allocated). The disk can be as large as 2^63 - 1 bytes while only
 * the pages written take memory.
 */
export class SparseStore implements Store {
  private readonly pages = new Map<number, Uint8Array>();
  /** Pages held in each region that holds any. */
  private readonly regions = new Map<number, number>();

  constructor(readonly size: bigint) {}

  read(buf: Uint8Array, offset: bigint): void {
    pages.each(offset, buf.length, (n, within, length, done) => {
      const page = this.pages.get(n);
      if (page === undefined) buf.fill(0, done, done + length);
      else buf.set(page.subarray(within, within + length), done);
    });
  }

  write(buf: Uint8Array, offset: bigint): void {
    pages.each(offset, buf.length, (n, within, length, done) => {
      const page = this.pages.get(n) ?? this.allocate(n, length === PAGE_SIZE);
      page.set(buf.subarray(done, done + length), within);
    });
  }

  zero(count: number, offset: bigint): void {
    if (count / PAGE_SIZE < this.pages.size) {
      pages.each(offset, count, (n, within, length) => this.zeroPart(n, within, length));
      return;
    }
    // The range covers more pages than are held (a large trim): visit those held.
    const end = offset + BigInt(count);
    for (const n of [...this.pages.keys()]) {
      const start = pages.offsetOf(n);
      const from = offset > start ? offset : start;
      const to = end < start + PAGE_BIGINT ? end : start + PAGE_BIGINT;
      if (from < to) this.zeroPart(n, Number(from - start), Number(to - from));
    }
  }

  /** The pages that hold memory, with the offset of each, in no particular order. */
  *held(): Generator<[bigint, Uint8Array]> {
    for (const [n, page] of this.pages) yield [pages.offsetOf(n), page];
  }

  extents(count: number, offset: bigint, flags: Flags, extents: ExtentList): void {
    if (count === 0) return;
    const last = pages.chunkOf(offset + BigInt(count - 1));
    let n = pages.chunkOf(offset);
    let runStart = n;
    let runType: number | undefined;
    while (n <= last) {
      const region = Math.floor(n / PAGES_PER_REGION);
      const inRegion = this.regions.has(region);
      const type = pageType(inRegion ? this.pages.get(n) : undefined);
      if (type !== runType) {
        if (runType !== undefined) {
          this.addRun(extents, runStart, n, runType);
          if (flags & Flag.REQ_ONE) return;
        }
        runStart = n;
        runType = type;
      }
      n = inRegion ? n + 1 : (region + 1) * PAGES_PER_REGION;
    }
    this.addRun(extents, runStart, n, runType ?? HOLE);
  }

  /** Adds the pages from `first` to before `end` as one extent, cut at the end of the disk. */
  private addRun(extents: ExtentList, first: number, end: number, type: number): void {
    const from = pages.offsetOf(first);
    const to = pages.offsetOf(end);
    extents.add(from, (to < this.size ? to : this.size) - from, type);
  }

  /** A new page for `n`: zeroed, or left as it comes when it is about to be written whole. */
  private allocate(n: number, whole: boolean): Uint8Array {
    const page = whole ? Buffer.allocUnsafeSlow(PAGE_SIZE) : new Uint8Array(PAGE_SIZE);
    this.pages.set(n, page);
    const region = Math.floor(n / PAGES_PER_REGION);
    this.regions.set(region, (this.regions.get(region) ?? 0) + 1);
    return page;
  }

  /** Zeroes `length` bytes of page `n` from `within`, releasing the page when nothing else is left in it. */
  private zeroPart(n: number, within: number, length: number): void {
    const page = this.pages.get(n);
    if (page === undefined) return;
    if (length < PAGE_SIZE) {
      page.fill(0, within, within + length);
      if (Buffer.compare(page, ZERO_PAGE) !== 0) return;
    }
    this.release(n);
  }

  private release(n: number): void {
    this.pages.delete(n);
    const region = Math.floor(n / PAGES_PER_REGION);
    const left = (this.regions.get(region) ?? 1) - 1;
    if (left === 0) this.regions.delete(region);
    else this.regions.set(region, left);
  }
}
