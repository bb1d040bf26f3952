import type { BlockDevice } from './block-device.js';

/**
 * Metadata blocks of the filesystem (bitmaps, inode tables, extent tree and
 * indirect blocks, group descriptors), read once and kept. Changed blocks are
 * marked dirty and written back by {@link writeBack}; dirty and pinned blocks
 * are never evicted. Clean blocks are evicted oldest first past 64 MiB.
 *
 * A buffer handed out may be evicted later: a caller that changes a block
 * does so right after `get` resolves (no await in between) and calls
 * {@link markDirty} with the buffer it changed.
 */
export class BlockCache {
  private readonly blocks = new Map<number, Uint8Array>();
  private readonly dirty = new Set<number>();
  private readonly pinned = new Set<number>();
  private readonly loading = new Map<number, Promise<Uint8Array>>();

  /** How many clean blocks to keep: 64 MiB worth, at least 1024 blocks. */
  private readonly limit: number;

  constructor(
    private readonly device: BlockDevice,
    readonly blockSize: number,
  ) {
    this.limit = Math.max(1024, (64 * 1024 * 1024) / blockSize);
  }

  /** Byte offset of a block in the image. */
  offsetOf(block: number): bigint {
    return BigInt(block) * BigInt(this.blockSize);
  }

  /** The contents of `block`, read from the image the first time. */
  get(block: number): Uint8Array | Promise<Uint8Array> {
    const hit = this.blocks.get(block);
    if (hit !== undefined) return hit;
    let pending = this.loading.get(block);
    if (pending === undefined) {
      // Forgotten once settled, failed or not: a failed read is tried again by the next get.
      pending = this.load(block).finally(() => this.loading.delete(block));
      this.loading.set(block, pending);
    }
    return pending;
  }

  private async load(block: number): Promise<Uint8Array> {
    const buf = new Uint8Array(this.blockSize);
    await this.device.read(buf, this.offsetOf(block));
    const raced = this.blocks.get(block);
    if (raced !== undefined) return raced;
    this.blocks.set(block, buf);
    this.evict();
    return buf;
  }

  /** A zeroed, dirty buffer for a block just allocated (its old contents are never read). */
  fresh(block: number): Uint8Array {
    const buf = new Uint8Array(this.blockSize);
    this.blocks.set(block, buf);
    this.dirty.add(block);
    return buf;
  }

  /** Records that `buf`, the contents of `block`, changed. */
  markDirty(block: number, buf: Uint8Array): void {
    this.blocks.set(block, buf);
    this.dirty.add(block);
  }

  /** Keeps `block` in memory for the life of the cache. */
  pin(block: number, buf: Uint8Array): void {
    this.blocks.set(block, buf);
    this.pinned.add(block);
  }

  /** Writes every dirty block, runs of consecutive blocks in one call. */
  async writeBack(): Promise<void> {
    const list = [...this.dirty].sort((a, b) => a - b);
    this.dirty.clear();
    let i = 0;
    while (i < list.length) {
      let j = i + 1;
      while (j < list.length && (list[j] as number) === (list[j - 1] as number) + 1 && j - i < 256) j++;
      const first = list[i] as number;
      const run = j - i;
      const out = run === 1 ? (this.blocks.get(first) as Uint8Array) : new Uint8Array(run * this.blockSize);
      if (run > 1) for (let k = 0; k < run; k++) out.set(this.blocks.get(first + k) as Uint8Array, k * this.blockSize);
      try {
        await this.device.write(out, this.offsetOf(first));
      } catch (e) {
        for (let k = i; k < list.length; k++) this.dirty.add(list[k] as number);
        throw e;
      }
      i = j;
    }
    this.evict();
  }

  private evict(): void {
    if (this.blocks.size <= this.limit) return;
    for (const block of this.blocks.keys()) {
      if (this.blocks.size <= this.limit) break;
      if (!this.dirty.has(block) && !this.pinned.has(block)) this.blocks.delete(block);
    }
  }
}
