import type { BlockMap, Mapping } from './block-map.js';
import type { MapContext } from './map-context.js';

/** Direct pointers in `i_block`, then the single, double and triple indirect ones. */
const DIRECT = 12;

/**
 * The block map of a file mapped by block pointers (ext2/ext3): twelve
 * direct pointers, then single, double and triple indirect blocks. Pointer
 * blocks are read through the block cache; a lookup returns the run of
 * consecutive pointers in one pointer block.
 */
export class IndirectMap implements BlockMap {
  readonly maxMapRun = 1 << 20;
  private readonly perBlock: number;

  constructor(private readonly ctx: MapContext) {
    this.perBlock = ctx.blockSize / 4;
  }

  /**
   * Where logical block `lblk` is: the slot in `i_block` to start from, the
   * indexes to follow in each pointer block, and how many blocks each level
   * of the chain covers.
   */
  private route(lblk: number): { slot: number; indexes: number[]; spans: number[] } {
    const p = this.perBlock;
    if (lblk < DIRECT) return { slot: lblk, indexes: [], spans: [] };
    let rest = lblk - DIRECT;
    let span = p;
    for (let level = 1; level <= 3; level++) {
      if (rest < span) {
        const indexes: number[] = [];
        const spans: number[] = [];
        let sub = span;
        for (let l = 0; l < level; l++) {
          sub /= p;
          indexes.push(Math.floor(rest / sub) % p);
          spans.push(sub);
        }
        return { slot: DIRECT + level - 1, indexes, spans };
      }
      rest -= span;
      span *= p;
    }
    return { slot: -1, indexes: [], spans: [] };
  }

  private pointers(buf: Uint8Array): DataView {
    return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  async lookup(lblk: number, max: number): Promise<Mapping> {
    const { slot, indexes, spans } = this.route(lblk);
    if (slot < 0) return { physical: 0, length: max, unwritten: false };
    let view = this.pointers(this.ctx.inode.iBlock);
    let at = slot;
    let limit = indexes.length === 0 ? DIRECT : slot + 1;
    for (let l = 0; l < indexes.length; l++) {
      const ptr = view.getUint32(at * 4, true);
      if (ptr === 0) {
        // The whole subtree under this pointer is a hole.
        const span = (spans[l] as number) * this.perBlock;
        return { physical: 0, length: Math.min(max, span - (this.offsetIn(lblk, span))), unwritten: false };
      }
      view = this.pointers(await this.ctx.cache.get(ptr));
      at = indexes[l] as number;
      limit = this.perBlock;
    }
    const first = view.getUint32(at * 4, true);
    let n = 1;
    while (n < max && at + n < limit) {
      const ptr = view.getUint32((at + n) * 4, true);
      if (first === 0 ? ptr !== 0 : ptr !== first + n) break;
      n++;
    }
    return { physical: first, length: n, unwritten: false };
  }

  /** Offset of `lblk` inside the aligned subtree of `span` blocks that holds it. */
  private offsetIn(lblk: number, span: number): number {
    const p = this.perBlock;
    let base = DIRECT;
    let size = p;
    while (lblk - base >= size) {
      base += size;
      size *= p;
    }
    return (lblk - base) % span;
  }

  async map(lblk: number, count: number, physical: number): Promise<number> {
    let allocated = 0;
    for (let i = 0; i < count; i++) allocated += await this.mapOne(lblk + i, physical + i);
    return allocated;
  }

  /** Points logical block `lblk` at `physical`, allocating missing pointer blocks. */
  private async mapOne(lblk: number, physical: number): Promise<number> {
    const { ctx } = this;
    const { slot, indexes } = this.route(lblk);
    if (slot < 0) throw new Error(`logical block ${lblk} is beyond what indirect blocks can map`);
    let allocated = 0;
    let buf = ctx.inode.iBlock;
    let block: number | undefined;
    let at = slot;
    for (const index of indexes) {
      const view = this.pointers(buf);
      let ptr = view.getUint32(at * 4, true);
      let next: Uint8Array;
      if (ptr === 0) {
        ptr = (await ctx.allocator.allocate(physical, 1)).start;
        allocated++;
        next = ctx.cache.fresh(ptr);
        view.setUint32(at * 4, ptr, true);
        await this.changed(block, buf);
      } else {
        next = await ctx.cache.get(ptr);
      }
      buf = next;
      block = ptr;
      at = index;
    }
    this.pointers(buf).setUint32(at * 4, physical, true);
    await this.changed(block, buf);
    return allocated;
  }

  private async changed(block: number | undefined, buf: Uint8Array): Promise<void> {
    if (block === undefined) await this.ctx.writeInode();
    else this.ctx.cache.markDirty(block, buf);
  }
}
