import type { BlockAllocator } from './block-allocator.js';
import type { BlockCache } from './block-cache.js';
import type { Inode } from './inode.js';

/** What a block map needs from its filesystem to change itself. */
export interface MapContext {
  readonly cache: BlockCache;
  readonly allocator: BlockAllocator;
  readonly blockSize: number;
  /** The filesystem's checksum seed, or undefined without metadata_csum. */
  readonly csumSeed: number | undefined;
  /** The file's inode (the extent root or direct pointers live in its `i_block`). */
  readonly inode: Inode;
  /** Stores the inode (after `i_block` changed). */
  writeInode(): Promise<void>;
}
