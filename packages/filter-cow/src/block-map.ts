/** Where the current contents of a block of the disk are. */
export const BlockState = {
  /** Not in the overlay: the disk beneath holds it. */
  BASE: 0,
  /** In the overlay file. */
  DATA: 1,
  /** Reads as zeroes (trimmed or zeroed); nothing stored. */
  ZERO: 2,
} as const;

/** One of {@link BlockState}. */
export type BlockState = (typeof BlockState)[keyof typeof BlockState];

/** Bytes per page of the map: each holds the state of 4 blocks per byte. */
const PAGE_BYTES = 1 << 16;
const BLOCKS_PER_PAGE = PAGE_BYTES * 4;

/**
 * The state of every block of a disk, 2 bits per block, in pages allocated
 * on the first block that leaves {@link BlockState.BASE}: a disk nobody
 * wrote costs nothing, and a 1 TiB disk written all over with 64 KiB blocks
 * costs 4 MiB.
 */
export class BlockMap {
  private readonly pages = new Map<number, Uint8Array>();

  /** The state of `block`. */
  get(block: number): BlockState {
    const page = this.pages.get(Math.floor(block / BLOCKS_PER_PAGE));
    if (page === undefined) return BlockState.BASE;
    const i = block % BLOCKS_PER_PAGE;
    return (((page[i >> 2] ?? 0) >> ((i & 3) * 2)) & 3) as BlockState;
  }

  /** Sets the state of `count` blocks from `first`. */
  set(first: number, count: number, state: BlockState): void {
    for (let block = first; block < first + count; block++) {
      const key = Math.floor(block / BLOCKS_PER_PAGE);
      let page = this.pages.get(key);
      if (page === undefined) {
        if (state === BlockState.BASE) continue;
        page = new Uint8Array(PAGE_BYTES);
        this.pages.set(key, page);
      }
      const i = block % BLOCKS_PER_PAGE;
      const shift = (i & 3) * 2;
      page[i >> 2] = ((page[i >> 2] ?? 0) & ~(3 << shift)) | (state << shift);
    }
  }

  /** How many blocks from `first` (at most `limit`) have the state of `first`. */
  run(first: number, limit: number): number {
    const state = this.get(first);
    let block = first + 1;
    const end = first + limit;
    while (block < end) {
      if (state === BlockState.BASE && !this.pages.has(Math.floor(block / BLOCKS_PER_PAGE))) {
        block = (Math.floor(block / BLOCKS_PER_PAGE) + 1) * BLOCKS_PER_PAGE;
        continue;
      }
      if (this.get(block) !== state) break;
      block++;
    }
    return Math.min(block, end) - first;
  }

  /** Bytes the map holds now. */
  get bytes(): number {
    return this.pages.size * PAGE_BYTES;
  }
}
