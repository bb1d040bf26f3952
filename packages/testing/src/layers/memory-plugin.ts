import { definePlugin, ExtentType, parseSize, toSafeNumber, type ExtentList, type PluginHandle } from '@nbdkit-ts/core';

/** Size of the pages the disk is stored in; pages never written (or zeroed whole) take no memory. */
const PAGE = 32 * 1024;

/** A sparse disk in memory, shared by every connection of one server. */
class SparseDisk {
  private readonly pages = new Map<number, Uint8Array>();

  constructor(readonly size: bigint) {}

  /** Calls `fn(page, from, to, done)` for each page touched by `count` bytes at `offset`. */
  private each(count: number, offset: bigint, fn: (page: number, from: number, to: number, done: number) => void): void {
    let at = toSafeNumber(offset, 'offset');
    let done = 0;
    while (done < count) {
      const page = Math.floor(at / PAGE);
      const from = at % PAGE;
      const to = Math.min(PAGE, from + count - done);
      fn(page, from, to, done);
      done += to - from;
      at += to - from;
    }
  }

  read(buf: Uint8Array, offset: bigint): void {
    this.each(buf.length, offset, (page, from, to, done) => {
      const p = this.pages.get(page);
      if (p === undefined) buf.fill(0, done, done + to - from);
      else buf.set(p.subarray(from, to), done);
    });
  }

  write(buf: Uint8Array, offset: bigint): void {
    this.each(buf.length, offset, (page, from, to, done) => {
      let p = this.pages.get(page);
      if (p === undefined) this.pages.set(page, (p = new Uint8Array(PAGE)));
      p.set(buf.subarray(done, done + to - from), from);
    });
  }

  zero(count: number, offset: bigint): void {
    this.each(count, offset, (page, from, to) => {
      if (from === 0 && to === PAGE) this.pages.delete(page);
      else this.pages.get(page)?.fill(0, from, to);
    });
  }

  extents(count: number, offset: bigint, extents: ExtentList): void {
    this.each(count, offset, (page) => {
      const type = this.pages.has(page) ? ExtentType.DATA : ExtentType.HOLE | ExtentType.ZERO;
      const start = BigInt(page * PAGE);
      const end = start + BigInt(PAGE) > this.size ? this.size : start + BigInt(PAGE);
      extents.add(start, end - start, type);
    });
  }
}

/**
 * The `memory` plugin of the testing kit: a sparse disk in memory, `SIZE`
 * bytes (default 16 MiB), that implements every data call and shares its
 * contents between the connections of one server. Its capabilities are all
 * on: FUA and cache natively, fast zero, multi-conn, and block status
 * reporting pages never written as holes that read as zeroes.
 */
export default definePlugin<PluginHandle>(() => {
  let size = 16n * 1024n * 1024n;
  let disk: SparseDisk | undefined;
  return {
    // The API version this layer was written for, as a literal: the server refuses it when
    // it implements another one (API_VERSION would always agree with the core installed).
    apiVersion: 1,
    name: 'memory',
    description: 'a sparse disk in memory, for tests',
    params: [{ name: 'size', description: 'size of the disk (default 16M)', magic: true }],
    config(key, value) {
      size = parseSize(key, value);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${key}=${value}: at most 8 PiB`);
    },
    ready() {
      disk = new SparseDisk(size);
    },
    open() {
      const d = disk as SparseDisk;
      return {
        capabilities: () => ({ size: d.size, canFua: 'native', canCache: 'native', canFastZero: true, canMultiConn: true }),
        pread: (buf, offset) => d.read(buf, offset),
        pwrite: (buf, offset) => d.write(buf, offset),
        flush: () => {},
        trim: (count, offset) => d.zero(count, offset),
        zero: (count, offset) => d.zero(count, offset),
        extents: (count, offset, _flags, extents) => d.extents(count, offset, extents),
        cache: () => {},
      };
    },
  };
});
