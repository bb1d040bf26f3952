import { Compat, Incompat, RoCompat } from './features.js';
import type { Superblock } from './superblock.js';

/**
 * Where the fixed metadata of each block group lives: group boundaries,
 * superblock backups and group descriptor blocks (classic and meta_bg).
 * Pure arithmetic on the superblock.
 */
export class Layout {
  readonly blockSize: number;
  readonly blocksPerGroup: number;
  readonly firstDataBlock: number;
  readonly blocksCount: number;
  readonly groupCount: number;
  readonly descSize: number;
  readonly descsPerBlock: number;
  /** Blocks holding the group descriptors (classic layout). */
  readonly descBlocks: number;
  readonly inodeTableBlocks: number;

  constructor(private readonly sb: Superblock) {
    this.blockSize = sb.blockSize;
    this.blocksPerGroup = sb.blocksPerGroup;
    this.firstDataBlock = sb.firstDataBlock;
    this.blocksCount = Number(sb.blocksCount);
    this.groupCount = Math.ceil((this.blocksCount - this.firstDataBlock) / this.blocksPerGroup);
    this.descSize = sb.descSize;
    this.descsPerBlock = this.blockSize / this.descSize;
    this.descBlocks = Math.ceil(this.groupCount / this.descsPerBlock);
    this.inodeTableBlocks = Math.ceil((sb.inodesPerGroup * sb.inodeSize) / this.blockSize);
  }

  /** First block of group `g`. */
  groupFirstBlock(g: number): number {
    return this.firstDataBlock + g * this.blocksPerGroup;
  }

  /** Number of blocks in group `g` (the last one may be short). */
  blocksInGroup(g: number): number {
    return Math.min(this.blocksPerGroup, this.blocksCount - this.groupFirstBlock(g));
  }

  /** The group of a block. */
  groupOf(block: number): number {
    return Math.floor((block - this.firstDataBlock) / this.blocksPerGroup);
  }

  /** Whether group `g` holds a superblock (the primary or a backup). */
  hasSuper(g: number): boolean {
    if (g === 0) return true;
    if (this.sb.hasCompat(Compat.SPARSE_SUPER2)) return this.sb.backupGroups.includes(g);
    if (g <= 1 || !this.sb.hasRoCompat(RoCompat.SPARSE_SUPER)) return true;
    if ((g & 1) === 0) return false;
    return isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
  }

  private get metaBg(): boolean {
    return this.sb.hasIncompat(Incompat.META_BG);
  }

  /** The block holding group descriptor block number `i` (descriptors of groups i*descsPerBlock...). */
  descBlockLocation(i: number): number {
    const first = this.firstDataBlock + 1;
    if (!this.metaBg || i < this.sb.firstMetaBg) return first + i;
    const g = i * this.descsPerBlock;
    return this.groupFirstBlock(g) + (this.hasSuper(g) ? 1 : 0);
  }

  /**
   * Blocks of group `g` used by the superblock copy and group descriptors
   * (and reserved descriptor blocks), as [start, count] runs.
   */
  superAndDescRuns(g: number): [number, number][] {
    let start = this.groupFirstBlock(g);
    if (start === 0 && this.blockSize === 1024) start = 1;
    const hasSuper = this.hasSuper(g);
    const runs: [number, number][] = [];
    if (!this.metaBg || Math.floor(g / this.descsPerBlock) < this.sb.firstMetaBg) {
      const old = this.metaBg ? this.sb.firstMetaBg : this.descBlocks + this.sb.reservedGdtBlocks;
      if (hasSuper) runs.push([start, 1 + old]);
    } else {
      if (hasSuper) runs.push([start, 1]);
      const r = g % this.descsPerBlock;
      if (r === 0 || r === 1 || r === this.descsPerBlock - 1) runs.push([start + (hasSuper ? 1 : 0), 1]);
    }
    return runs;
  }
}

function isPowerOf(n: number, base: number): boolean {
  let x = base;
  while (x < n) x *= base;
  return x === n;
}
