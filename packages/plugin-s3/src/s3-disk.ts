import { ExtentType, nbdError, type ExtentList } from '@nbdkit-ts/core';
import { ChunkWriter } from './chunk-writer.js';
import type { Layout, Piece } from './layout.js';
import type { ObjectStore } from './object-store.js';

/** Most keys one listing returns (the S3 limit). */
const PAGE = 1000;

/** Waits for every promise, then throws the first failure, so no request outlives the call. */
async function all(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/**
 * A disk stored as chunk objects (see Layout), shared by every connection
 * of the server. Reads fetch only the bytes asked for, one ranged GET per
 * chunk, all chunks at once; writes go through the per-chunk writer.
 */
export class S3Disk {
  private readonly writer: ChunkWriter;

  constructor(
    readonly store: ObjectStore,
    readonly layout: Layout,
  ) {
    this.writer = new ChunkWriter(store, layout);
  }

  /** Fills `buf` from `offset`; chunks without an object read as zeroes. */
  async read(buf: Uint8Array, offset: bigint): Promise<void> {
    await all(
      [...this.layout.pieces(offset, buf.length)].map(async (p) => {
        const part = buf.subarray(p.done, p.done + p.length);
        if (!(await this.store.readRange(this.layout.chunkKey(p.index), p.within, part))) part.fill(0);
      }),
    );
  }

  /** Writes `buf` at `offset`; resolves once every chunk it touched is stored. */
  async write(buf: Uint8Array, offset: bigint): Promise<void> {
    await all([...this.layout.pieces(offset, buf.length)].map((p) => this.writer.change(p.index, p.within, p.length, buf.subarray(p.done, p.done + p.length))));
  }

  /**
   * Makes `count` bytes at `offset` read as zeroes: the objects of whole
   * chunks are deleted (those that exist), parts of chunks are written with
   * zeroes. With `fast`, fails with ENOTSUP instead of writing zeroes.
   */
  async zero(count: number, offset: bigint, fast: boolean): Promise<void> {
    const pieces = [...this.layout.pieces(offset, count)];
    const whole = (p: Piece) => p.within === 0 && p.length === this.layout.chunkLength(p.index);
    const partial = pieces.filter((p) => !whole(p));
    if (fast && partial.length > 0) throw nbdError('ENOTSUP', 'zeroing part of a chunk means writing it');
    const changes = partial.map((p) => this.writer.change(p.index, p.within, p.length, undefined));
    const wholes = pieces.filter(whole);
    const first = wholes[0]?.index;
    const last = wholes.at(-1)?.index;
    if (first !== undefined && last !== undefined) changes.push(this.zeroChunks(first, last));
    await all(changes);
  }

  /** Deletes the objects of chunks `[first, last]`: those that exist or are being written. */
  private async zeroChunks(first: bigint, last: bigint): Promise<void> {
    const targets = new Set(this.writer.busy(first, last));
    for await (const index of this.existing(first, last)) targets.add(index);
    await all([...targets].map((index) => this.writer.change(index, 0, this.layout.chunkLength(index), undefined)));
  }

  /**
   * Reports which chunks from `offset` have an object (data) and which have
   * none (a hole reading as zeroes), for at most one listing's worth of chunks.
   */
  async extents(count: number, offset: bigint, list: ExtentList): Promise<void> {
    const os = BigInt(this.layout.objectSize);
    const first = offset / os;
    let last = (offset + BigInt(count) - 1n) / os;
    if (last - first >= BigInt(PAGE)) last = first + BigInt(PAGE) - 1n;
    let next = first;
    const add = (from: bigint, to: bigint, type: number) => {
      const start = this.layout.chunkStart(from);
      const end = to >= this.layout.chunks ? this.layout.size : this.layout.chunkStart(to);
      list.add(start, end - start, type);
    };
    for await (const index of this.existing(first, last)) {
      if (index > next) add(next, index, ExtentType.HOLE | ExtentType.ZERO);
      add(index, index + 1n, ExtentType.DATA);
      next = index + 1n;
    }
    if (next <= last) add(next, last + 1n, ExtentType.HOLE | ExtentType.ZERO);
  }

  /** The chunks in `[first, last]` that have an object, in order, listing page by page. */
  private async *existing(first: bigint, last: bigint): AsyncGenerator<bigint> {
    let after = first === 0n ? undefined : this.layout.chunkKey(first - 1n);
    const lastKey = this.layout.chunkKey(last);
    for (;;) {
      const wanted = last - first + 1n;
      const page = await this.store.list(this.layout.prefix, after, wanted < BigInt(PAGE) ? Number(wanted) : PAGE);
      for (const key of page.keys) {
        if (key > lastKey) return;
        const index = this.layout.chunkIndex(key);
        if (index !== undefined && index >= first) yield index;
      }
      const end = page.keys.at(-1);
      if (!page.truncated || end === undefined) return;
      after = end;
    }
  }
}
