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
/**
 * Pages are cut from slabs of 1 MiB: a disk of 1 GiB is 1024 buffers rather
 * than 32768, which keeps what the garbage collector visits at each full
 * collection small (it marks and sweeps every buffer that is alive).
 */
const PAGES_PER_SLAB = 32;

/**
 * The memory of the pages: slots of PAGE_SIZE bytes in slabs. A slot given
 * back is reused before a new slab is made; a slab whose slots are all free
 * is released, and made again (zeroed) when one of its slots is taken.
 */
class Slabs {
  private readonly slabs: (Uint8Array | undefined)[] = [];
  /** Slots taken in each slab. */
  private readonly taken: number[] = [];
  /** Free slots, the next one to take last. */
  private readonly free: number[] = [];

  /** Takes a slot; its bytes are zeroes when `zeroed`, anything otherwise. */
  take(zeroed: boolean): number {
    if (this.free.length === 0) {
      const first = this.slabs.length * PAGES_PER_SLAB;
      this.slabs.push(undefined);
      this.taken.push(0);
      for (let slot = first + PAGES_PER_SLAB - 1; slot >= first; slot--) this.free.push(slot);
    }
    const slot = this.free.pop() as number;
    const n = Math.floor(slot / PAGES_PER_SLAB);
    const slab = this.slabs[n];
    if (slab === undefined) this.slabs[n] = new Uint8Array(PAGE_SIZE * PAGES_PER_SLAB);
    else if (zeroed) this.page(slot).fill(0);
    this.taken[n] = (this.taken[n] as number) + 1;
    return slot;
  }

  /** Gives `slot` back. */
  give(slot: number): void {
    this.free.push(slot);
    const n = Math.floor(slot / PAGES_PER_SLAB);
    const left = (this.taken[n] as number) - 1;
    this.taken[n] = left;
    if (left === 0) this.slabs[n] = undefined;
  }

  /** The bytes of `slot` from `from` to before `to` (the whole page by default). */
  page(slot: number, from = 0, to = PAGE_SIZE): Uint8Array {
    const at = (slot % PAGES_PER_SLAB) * PAGE_SIZE;
    return (this.slabs[Math.floor(slot / PAGES_PER_SLAB)] as Uint8Array).subarray(at + from, at + to);
  }
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
  /** The slot of each page held. */
  private readonly pages = new Map<number, number>();
  private readonly memory = new Slabs();
  /** Pages held in each region that holds any. */
  private readonly regions = new Map<number, number>();

  constructor(readonly size: bigint) {}

  read(buf: Uint8Array, offset: bigint): void {
    pages.each(offset, buf.length, (n, within, length, done) => {
      const slot = this.pages.get(n);
      if (slot === undefined) buf.fill(0, done, done + length);
      else buf.set(this.memory.page(slot, within, within + length), done);
    });
  }

  write(buf: Uint8Array, offset: bigint): void {
    pages.each(offset, buf.length, (n, within, length, done) => {
      const slot = this.pages.get(n) ?? this.allocate(n, length === PAGE_SIZE);
      this.memory.page(slot, within).set(buf.subarray(done, done + length));
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
    for (const [n, slot] of this.pages) yield [pages.offsetOf(n), this.memory.page(slot)];
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
      const type = this.pageType(inRegion ? this.pages.get(n) : undefined);
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

  /** A page missing is a hole; a page present is data, or zero when it holds only zeroes (zeroes were written). */
  private pageType(slot: number | undefined): number {
    if (slot === undefined) return HOLE;
    return Buffer.compare(this.memory.page(slot), ZERO_PAGE) === 0 ? ExtentType.ZERO : ExtentType.DATA;
  }

  /** Adds the pages from `first` to before `end` as one extent, cut at the end of the disk. */
  private addRun(extents: ExtentList, first: number, end: number, type: number): void {
    const from = pages.offsetOf(first);
    const to = pages.offsetOf(end);
    extents.add(from, (to < this.size ? to : this.size) - from, type);
  }

  /** A new page for `n`: zeroed, or left as it comes when it is about to be written whole. */
  private allocate(n: number, whole: boolean): number {
    const slot = this.memory.take(!whole);
    this.pages.set(n, slot);
    const region = Math.floor(n / PAGES_PER_REGION);
    this.regions.set(region, (this.regions.get(region) ?? 0) + 1);
    return slot;
  }

  /** Zeroes `length` bytes of page `n` from `within`, releasing the page when nothing else is left in it. */
  private zeroPart(n: number, within: number, length: number): void {
    const slot = this.pages.get(n);
    if (slot === undefined) return;
    if (length < PAGE_SIZE) {
      const page = this.memory.page(slot);
      page.fill(0, within, within + length);
      if (Buffer.compare(page, ZERO_PAGE) !== 0) return;
    }
    this.release(n);
  }

  private release(n: number): void {
    this.memory.give(this.pages.get(n) as number);
    this.pages.delete(n);
    const region = Math.floor(n / PAGES_PER_REGION);
    const left = (this.regions.get(region) ?? 1) - 1;
    if (left === 0) this.regions.delete(region);
    else this.regions.set(region, left);
  }
}
