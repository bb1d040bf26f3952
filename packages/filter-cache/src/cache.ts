import { existsSync } from 'node:fs';
import { ExtentList, ExtentType, Flag, RangeLock, Semaphore, toSafeNumber, type Backend, type Capabilities, type Flags, type Host, type Next } from '@nbdkit-ts/core';
import { BlockStates, State } from './block-states.js';
import { BufferPool } from './buffer-pool.js';
import { loadPunchHole } from './punch-hole.js';
import { Reclaim } from './reclaim.js';
import type { Settings } from './settings.js';
import { defaultDir, StoreFile } from './store-file.js';

/** Calls in flight at once on the context beneath, when the layers beneath can take parallel calls. */
const PARALLEL_CALLS = 16;

/** The part of one block that a request covers: disk offsets `from` to `to`, at `at` in the request's buffer. */
interface Part {
  readonly block: number;
  readonly from: number;
  readonly to: number;
  readonly at: number;
  /** Whether the request covers the whole block. */
  readonly whole: boolean;
}

/**
 * The cache of one export, shared by every connection: the blocks it holds in
 * a temporary file, their states, and one shared context beneath through
 * which it fills itself and writes back.
 */
export class Cache {
  private readonly lock = new RangeLock();
  private readonly size: number;
  private readonly blockSize: number;
  private zeroes: Uint8Array | undefined;
  private reclaim: Reclaim | undefined;
  private readonly buffers: BufferPool;

  private constructor(
    readonly next: Next,
    private readonly store: StoreFile,
    private readonly states: BlockStates,
    private readonly settings: Settings,
    private readonly limiter: Semaphore,
  ) {
    this.size = toSafeNumber(next.capabilities.size, 'disk size');
    this.blockSize = settings.blockSize;
    this.buffers = new BufferPool(settings.blockSize, limiter.limit);
  }

  /** Opens the shared context beneath and the cache file, and starts the reclaim when there is a cache-max-size. */
  static async create(backend: Backend, host: Host, settings: Settings, exportName: string): Promise<Cache> {
    const punchHole = settings.maxSize === undefined ? undefined : await loadPunchHole();
    const next = await backend.open({ shared: true, exportName });
    let store: StoreFile;
    try {
      const size = toSafeNumber(next.capabilities.size, 'disk size');
      store = await StoreFile.create(settings.dir ?? defaultDir(), size, punchHole);
    } catch (e) {
      await next.close();
      throw e;
    }
    const blocks = Math.ceil(Number(next.capabilities.size) / settings.blockSize);
    const limiter = new Semaphore(backend.concurrency === 'parallel' ? PARALLEL_CALLS : 1);
    const cache = new Cache(next, store, new BlockStates(blocks), settings, limiter);
    if (settings.maxSize !== undefined) {
      const inBlocks = (percent: number) => Math.floor(Number((settings.maxSize as bigint) * BigInt(percent)) / 100 / settings.blockSize);
      const reclaim = new Reclaim(cache.states, inBlocks(settings.highPercent), inBlocks(settings.lowPercent), (b) => cache.evict(b), host.log);
      cache.reclaim = reclaim;
      host.background('reclaim', (signal) => reclaim.run(signal));
    }
    host.log.debug(`cache of ${blocks} blocks of ${settings.blockSize} bytes, ${settings.mode}`);
    return cache;
  }

  /** Whether some blocks are still to be written back. */
  get dirty(): boolean {
    return this.states.dirty > 0;
  }

  /** What the export offers: the context beneath's, with cache, FUA and flush answered here. */
  capabilities(): Capabilities {
    const below = this.next.capabilities;
    return {
      ...below,
      canFlush: below.canFlush || below.canWrite,
      canFua: below.canWrite ? 'native' : 'none',
      canCache: 'native',
      // Every connection goes through this one cache and one context beneath.
      canMultiConn: true,
    };
  }

  async pread(buf: Uint8Array, offset: bigint): Promise<void> {
    const start = Number(offset);
    await this.locked(start, buf.length, (parts) => Promise.all(parts.map((p) => this.readPart(p, buf))));
  }

  async pwrite(buf: Uint8Array, offset: bigint, flags: Flags): Promise<void> {
    const start = Number(offset);
    const through = this.settings.mode === 'writethrough' || (flags & Flag.FUA) !== 0;
    await this.locked(start, buf.length, async (parts) => {
      if (through) await this.writeBelow(buf, offset, (flags & Flag.FUA) !== 0);
      await Promise.all(parts.map((p) => this.writePart(p, buf, through)));
    });
    this.reclaim?.grew();
  }

  async zero(count: number, offset: bigint, flags: Flags): Promise<void> {
    await this.locked(Number(offset), count, async (parts) => {
      await this.below((n) => n.zero(count, offset, flags));
      for (const p of parts) {
        if (this.states.get(p.block) === State.ABSENT) continue;
        if (p.whole) this.drop(p.block);
        else await this.store.write(this.zeroesOf(p.to - p.from), p.from);
      }
    });
  }

  async trim(count: number, offset: bigint, flags: Flags): Promise<void> {
    await this.locked(Number(offset), count, async (parts) => {
      await this.below((n) => n.trim(count, offset, flags));
      for (const p of parts) if (p.whole) this.drop(p.block);
    });
  }

  /** NBD_CMD_CACHE: fills the blocks of the range that the cache lacks, several at once. */
  async cache(count: number, offset: bigint): Promise<void> {
    const blocks = this.parts(Number(offset), count).map((p) => p.block);
    await this.inBatches(blocks, (b) =>
      this.lock.run(b, b, async () => {
        if (this.states.get(b) === State.ABSENT) await this.fill(b);
        else this.states.touch(b);
      }),
    );
    this.reclaim?.grew();
  }

  /** Writes back every dirty block (except with cache=unsafe), then flushes the disk beneath. */
  async flush(): Promise<void> {
    if (this.settings.mode === 'unsafe') return;
    await this.writeBack();
    if (this.next.capabilities.canFlush) await this.below((n) => n.flush(0));
  }

  /** Block status of the disk beneath, where blocks still to be written back read as data. */
  async extents(count: number, offset: bigint, flags: Flags, extents: ExtentList): Promise<void> {
    const below = new ExtentList(offset, offset + BigInt(count));
    await this.below((n) => n.extents(count, offset, flags, below));
    for (const e of below.extents) {
      if (e.type === ExtentType.DATA || this.states.dirty === 0) {
        extents.add(e.offset, e.length, e.type);
        continue;
      }
      for (const p of this.parts(Number(e.offset), Number(e.length))) {
        extents.add(BigInt(p.from), BigInt(p.to - p.from), this.states.get(p.block) === State.DIRTY ? ExtentType.DATA : e.type);
      }
    }
  }

  /** Closes the cache file; the shared context is closed by then (it is closed again, which does nothing). */
  async close(): Promise<void> {
    await this.next.close();
    await this.store.close();
  }

  /** Evicts a block, writing it back first when it is dirty. */
  private evict(block: number): Promise<void> {
    return this.lock.run(block, block, async () => {
      await this.writeBackBlock(block);
      this.drop(block);
    });
  }

  private async writeBack(): Promise<void> {
    await this.inBatches([...this.states.dirtyBlocks()], (b) => this.lock.run(b, b, () => this.writeBackBlock(b)));
  }

  private async writeBackBlock(block: number): Promise<void> {
    if (this.states.get(block) !== State.DIRTY) return;
    const from = block * this.blockSize;
    await this.limiter.run(() =>
      this.buffers.with(this.blockLength(block), async (data) => {
        await this.store.read(data, from);
        await this.next.pwrite(data, BigInt(from), 0);
      }),
    );
    this.states.set(block, State.CLEAN);
  }

  private async readPart(p: Part, buf: Uint8Array): Promise<void> {
    const dest = buf.subarray(p.at, p.at + p.to - p.from);
    if (this.states.get(p.block) !== State.ABSENT) {
      this.states.touch(p.block);
      await this.store.read(dest, p.from);
    } else if (this.cacheOnRead()) {
      const blockStart = p.block * this.blockSize;
      await this.fill(p.block, (data) => dest.set(data.subarray(p.from - blockStart, p.to - blockStart)));
      this.reclaim?.grew();
    } else {
      await this.below((n) => n.pread(dest, BigInt(p.from), 0));
    }
  }

  private async writePart(p: Part, buf: Uint8Array, through: boolean): Promise<void> {
    const src = buf.subarray(p.at, p.at + p.to - p.from);
    const state = this.states.get(p.block);
    if (through) {
      if (!p.whole && state === State.ABSENT) return;
      await this.store.write(src, p.from);
      if (p.whole) this.states.set(p.block, State.CLEAN);
    } else {
      if (!p.whole && state === State.ABSENT) await this.fill(p.block);
      await this.store.write(src, p.from);
      this.states.set(p.block, State.DIRTY);
    }
    this.states.touch(p.block);
  }

  /** Writes a request's data beneath: with FUA, made durable there before this returns. */
  private async writeBelow(buf: Uint8Array, offset: bigint, fua: boolean): Promise<void> {
    const caps = this.next.capabilities;
    if (fua && caps.canFua !== 'none') return this.below((n) => n.pwrite(buf, offset, Flag.FUA));
    await this.below((n) => n.pwrite(buf, offset, 0));
    if (fua && caps.canFlush) await this.below((n) => n.flush(0));
  }

  /**
   * Reads a whole block from beneath into the cache file (the caller holds
   * its lock); `use` sees its data before the buffer is reused.
   */
  private async fill(block: number, use?: (data: Uint8Array) => void): Promise<void> {
    const from = block * this.blockSize;
    await this.limiter.run(() =>
      this.buffers.with(this.blockLength(block), async (data) => {
        await this.next.pread(data, BigInt(from), 0);
        await this.store.write(data, from);
        use?.(data);
      }),
    );
    this.states.set(block, State.CLEAN);
    this.states.touch(block);
  }

  /** Forgets a block and gives its space back. */
  private drop(block: number): void {
    this.states.set(block, State.ABSENT);
    this.store.free(block * this.blockSize, this.blockLength(block));
  }

  private cacheOnRead(): boolean {
    const on = this.settings.onRead;
    return typeof on === 'boolean' ? on : existsSync(on);
  }

  private below<T>(call: (next: Next) => T | Promise<T>): Promise<T> {
    return this.limiter.run(() => call(this.next));
  }

  /** Runs `section` holding the blocks of a request, given the part of each block it covers. */
  private locked<T>(start: number, length: number, section: (parts: Part[]) => Promise<T>): Promise<T> {
    const parts = this.parts(start, length);
    return this.lock.run((parts[0] as Part).block, (parts.at(-1) as Part).block, () => section(parts));
  }

  /** Runs `task` for each item, as many at once as calls may be in flight beneath. */
  private async inBatches(items: readonly number[], task: (item: number) => Promise<void>): Promise<void> {
    for (let i = 0; i < items.length; i += this.limiter.limit) await Promise.all(items.slice(i, i + this.limiter.limit).map(task));
  }

  private parts(start: number, length: number): Part[] {
    const parts: Part[] = [];
    const end = start + length;
    for (let block = Math.floor(start / this.blockSize); block * this.blockSize < end; block++) {
      const blockStart = block * this.blockSize;
      const blockEnd = blockStart + this.blockLength(block);
      const from = Math.max(start, blockStart);
      const to = Math.min(end, blockEnd);
      parts.push({ block, from, to, at: from - start, whole: from === blockStart && to === blockEnd });
    }
    return parts;
  }

  private blockLength(block: number): number {
    return Math.min(this.blockSize, this.size - block * this.blockSize);
  }

  private zeroesOf(length: number): Uint8Array {
    this.zeroes ??= new Uint8Array(this.blockSize);
    return this.zeroes.subarray(0, length);
  }
}
