import { nbdError } from '@nbdkit-ts/core';
import type { BlockCache } from './block-cache.js';
import { crc32cUpdate } from './crc32c.js';
import { GroupFlag, type GroupDescriptors } from './group-descriptors.js';
import type { Layout } from './layout.js';
import type { Superblock } from './superblock.js';

/** A run of blocks: `count` blocks from `start`. */
export interface BlockRun {
  readonly start: number;
  readonly count: number;
}

/**
 * Allocates blocks from the block bitmaps, keeping the group descriptors'
 * free counts, flags and checksums, the bitmaps' checksums and the
 * superblock's free count right. A group whose bitmap was never initialised
 * (BLOCK_UNINIT) gets one built from the layout first. Callers hold the
 * filesystem's allocation lock.
 */
export class BlockAllocator {
  constructor(
    private readonly sb: Superblock,
    private readonly layout: Layout,
    private readonly groups: GroupDescriptors,
    private readonly cache: BlockCache,
    private readonly csumSeed: number,
    /** Called when the superblock changed. */
    private readonly superblockChanged: () => void,
  ) {}

  /**
   * Allocates up to `max` consecutive free blocks, the first one at `goal`
   * or as soon after it as possible (wrapping around the filesystem).
   * Throws ENOSPC when no block is free.
   */
  async allocate(goal: number, max: number): Promise<BlockRun> {
    const { layout } = this;
    if (goal < layout.firstDataBlock || goal >= layout.blocksCount) goal = layout.firstDataBlock;
    const first = layout.groupOf(goal);
    for (let i = 0; i <= layout.groupCount; i++) {
      const g = (first + i) % layout.groupCount;
      if (this.groups.freeBlocks(g) === 0) continue;
      const from = i === 0 ? goal - layout.groupFirstBlock(g) : 0;
      const run = await this.allocateInGroup(g, from, max);
      if (run !== undefined) return run;
    }
    throw nbdError('ENOSPC', 'no free blocks left in the filesystem');
  }

  /** Free blocks left in the filesystem. */
  get freeBlocks(): number {
    return Number(this.sb.freeBlocksCount);
  }

  /** Returns blocks taken by {@link allocate} and not used after all (a write that failed). */
  async free(run: BlockRun): Promise<void> {
    const g = this.layout.groupOf(run.start);
    const bitmap = await this.bitmap(g);
    const first = run.start - this.layout.groupFirstBlock(g);
    for (let b = first; b < first + run.count; b++) {
      if (!testBit(bitmap, b)) throw nbdError('EIO', `freeing block ${run.start + b - first}, which is already free`);
      bitmap[b >>> 3] = (bitmap[b >>> 3] as number) & ~(1 << (b & 7));
    }
    this.account(g, bitmap, run.count);
  }

  private async allocateInGroup(g: number, from: number, max: number): Promise<BlockRun | undefined> {
    const bitmap = await this.bitmap(g);
    const limit = this.layout.blocksInGroup(g);
    let bit = findZero(bitmap, from, limit);
    if (bit < 0 && from > 0) bit = findZero(bitmap, 0, from);
    if (bit < 0) return undefined;
    let count = 0;
    while (count < max && bit + count < limit && !testBit(bitmap, bit + count)) {
      setBit(bitmap, bit + count);
      count++;
    }
    this.account(g, bitmap, -count);
    return { start: this.layout.groupFirstBlock(g) + bit, count };
  }

  private account(g: number, bitmap: Uint8Array, delta: number): void {
    const free = this.groups.freeBlocks(g) + delta;
    if (free < 0) throw nbdError('EIO', `group ${g}: free block count would go below zero`);
    this.groups.setFreeBlocks(g, free);
    if (this.sb.metadataCsum) this.groups.setBlockBitmapChecksum(g, this.bitmapChecksum(bitmap));
    this.groups.updateChecksum(g);
    this.cache.markDirty(this.groups.blockBitmap(g), bitmap);
    this.sb.freeBlocksCount += BigInt(delta);
    this.superblockChanged();
  }

  /** The block bitmap's checksum: crc32c over the group's bits. */
  bitmapChecksum(bitmap: Uint8Array): number {
    return crc32cUpdate(this.csumSeed, bitmap.subarray(0, this.sb.clustersPerGroup / 8));
  }

  /** The block bitmap of group `g`, built first if the group is BLOCK_UNINIT. */
  private async bitmap(g: number): Promise<Uint8Array> {
    const block = this.groups.blockBitmap(g);
    if ((this.groups.flags(g) & GroupFlag.BLOCK_UNINIT) === 0 || !this.groups.hasChecksum) return this.cache.get(block);
    const bitmap = this.cache.fresh(block);
    this.buildBitmap(g, bitmap);
    this.groups.setFlags(g, this.groups.flags(g) & ~GroupFlag.BLOCK_UNINIT);
    this.account(g, bitmap, 0);
    return bitmap;
  }

  /** Marks what an uninitialised group holds: superblock and descriptor copies, and any group's bitmaps and inode table inside it. */
  private buildBitmap(g: number, bitmap: Uint8Array): void {
    const { layout } = this;
    bitmap.fill(0xff);
    bitmap.fill(0, 0, this.sb.clustersPerGroup / 8);
    for (let b = layout.blocksInGroup(g); b < this.sb.clustersPerGroup; b++) setBit(bitmap, b);
    const start = layout.groupFirstBlock(g);
    const end = start + layout.blocksInGroup(g);
    const mark = (from: number, count: number) => {
      for (let b = Math.max(from, start); b < Math.min(from + count, end); b++) setBit(bitmap, b - start);
    };
    for (const [from, count] of layout.superAndDescRuns(g)) mark(from, count);
    for (let o = 0; o < layout.groupCount; o++) {
      mark(this.groups.blockBitmap(o), 1);
      mark(this.groups.inodeBitmap(o), 1);
      mark(this.groups.inodeTable(o), layout.inodeTableBlocks);
    }
  }
}

function testBit(bitmap: Uint8Array, bit: number): boolean {
  return ((bitmap[bit >>> 3] as number) & (1 << (bit & 7))) !== 0;
}

function setBit(bitmap: Uint8Array, bit: number): void {
  bitmap[bit >>> 3] = (bitmap[bit >>> 3] as number) | (1 << (bit & 7));
}

/** The first clear bit in [from, to), or -1. Skips full bytes quickly. */
function findZero(bitmap: Uint8Array, from: number, to: number): number {
  let bit = from;
  while (bit < to) {
    if ((bit & 7) === 0 && bitmap[bit >>> 3] === 0xff) {
      bit += 8;
      continue;
    }
    if (!testBit(bitmap, bit)) return bit;
    bit++;
  }
  return -1;
}
