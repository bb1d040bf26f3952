import { nbdError } from '@nbdkit-ts/core';
import type { BlockMap, Mapping } from './block-map.js';
import { findExtent, insertWritten } from './extent-list.js';
import { ExtentNode, MAX_INIT_LEN, type Extent, type IndexEntry } from './extent-node.js';
import type { MapContext } from './map-context.js';

/** One step of a path from the root to a leaf: the node, and the entry taken in it. */
interface PathStep {
  node: ExtentNode;
  idx: number;
}

/** Logical blocks are 32-bit: the first one past the last possible. */
const END_OF_FILE = 2 ** 32;

/**
 * The block map of an extent-mapped file. The whole tree is read once into a
 * sorted list of extents that lookups search; `map` changes the tree on disk
 * (splitting nodes and growing the tree as needed), then the list.
 */
export class ExtentMap implements BlockMap {
  readonly maxMapRun = MAX_INIT_LEN;

  private constructor(
    private readonly ctx: MapContext,
    private readonly list: Extent[],
  ) {}

  /** Reads the tree of `ctx.inode`. */
  static async load(ctx: MapContext): Promise<ExtentMap> {
    const list: Extent[] = [];
    const map = new ExtentMap(ctx, list);
    await map.collect(map.root(), list);
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1] as Extent;
      if (a.lblk + a.len > (list[i] as Extent).lblk) throw nbdError('EIO', `inode ${ctx.inode.ino}: extents overlap at logical block ${a.lblk}`);
    }
    return map;
  }

  private root(): ExtentNode {
    const node = new ExtentNode(this.ctx.inode.iBlock, undefined);
    node.check(`inode ${this.ctx.inode.ino}`);
    return node;
  }

  private async child(block: number, depth: number): Promise<ExtentNode> {
    const { ctx } = this;
    const node = new ExtentNode(await ctx.cache.get(block), block);
    const what = `inode ${ctx.inode.ino}: extent block ${block}`;
    node.check(what);
    if (node.depth !== depth) throw nbdError('EIO', `${what}: depth ${node.depth}, expected ${depth}`);
    if (ctx.csumSeed !== undefined && node.checksum !== node.computeChecksum(ctx.inode.checksumSeed(ctx.csumSeed))) {
      throw nbdError('EIO', `${what}: checksum does not match`);
    }
    return node;
  }

  private async collect(node: ExtentNode, out: Extent[]): Promise<void> {
    if (node.depth === 0) {
      out.push(...node.extents());
      return;
    }
    for (const e of node.indexes()) await this.collect(await this.child(e.child, node.depth - 1), out);
  }

  lookup(lblk: number, max: number): Mapping {
    const i = findExtent(this.list, lblk);
    const e = this.list[i];
    if (e !== undefined && lblk < e.lblk + e.len) {
      return { physical: e.phys + (lblk - e.lblk), length: Math.min(max, e.lblk + e.len - lblk), unwritten: e.unwritten };
    }
    const next = this.list[i + 1];
    const holeEnd = next === undefined ? END_OF_FILE : next.lblk;
    return { physical: 0, length: Math.min(max, holeEnd - lblk), unwritten: false };
  }

  async map(lblk: number, count: number, physical: number): Promise<number> {
    let allocated = 0;
    while (count > 0) {
      const path = await this.path(lblk);
      const leaf = path[path.length - 1] as PathStep;
      const n = Math.min(count, this.nextKey(path) - lblk);
      const add: Extent = { lblk, len: n, phys: physical, unwritten: false };
      const entries = leaf.node.extents();
      insertWritten(entries, { ...add });
      allocated += await this.store(path, path.length - 1, entries, lblk);
      insertWritten(this.list, { ...add });
      lblk += n;
      physical += n;
      count -= n;
    }
    return allocated;
  }

  /** The nodes from the root to the leaf whose range holds `lblk`. */
  private async path(lblk: number): Promise<PathStep[]> {
    let node = this.root();
    const path: PathStep[] = [];
    while (node.depth > 0) {
      let idx = 0;
      for (let i = 1; i < node.entries && node.key(i) <= lblk; i++) idx = i;
      path.push({ node, idx });
      node = await this.child(node.index(idx).child, node.depth - 1);
    }
    path.push({ node, idx: -1 });
    return path;
  }

  /** Where the next leaf's range starts, after the path's leaf. */
  private nextKey(path: readonly PathStep[]): number {
    let next = END_OF_FILE;
    for (const { node, idx } of path) if (idx >= 0 && idx + 1 < node.entries) next = Math.min(next, node.key(idx + 1));
    return next;
  }

  /**
   * Stores `entries` in the node at `level` of `path`: growing the tree when
   * the root overflows, splitting a block that overflows, and keeping every
   * index entry equal to the first key of its child. `newKey` is the key just
   * added (a node filled from the end is split off at its last entry).
   * Returns the number of blocks allocated.
   */
  private async store(path: PathStep[], level: number, entries: (Extent | IndexEntry)[], newKey: number): Promise<number> {
    const { node } = path[level] as PathStep;
    if (entries.length <= node.max) {
      node.store(entries);
      await this.persist(node);
      return this.fixParentKey(path, level, (entries[0] as Extent | IndexEntry).lblk);
    }
    const { ctx } = this;
    const goal = node.block ?? (entries[0] && 'phys' in entries[0] ? entries[0].phys : 0);
    const { start: block } = await ctx.allocator.allocate(goal, 1);
    const fresh = ExtentNode.init(ctx.cache.fresh(block), block, node.depth);
    if (level === 0) {
      fresh.store(entries);
      await this.persist(fresh);
      node.depth = node.depth + 1;
      node.store([{ lblk: (entries[0] as Extent | IndexEntry).lblk, child: block }]);
      await this.persist(node);
      return 1;
    }
    const last = entries[entries.length - 1] as Extent | IndexEntry;
    const at = last.lblk === newKey ? entries.length - 1 : entries.length >> 1;
    const left = entries.slice(0, at);
    const right = entries.slice(at);
    node.store(left);
    await this.persist(node);
    fresh.store(right);
    await this.persist(fresh);
    const parent = path[level - 1] as PathStep;
    const up: IndexEntry[] = parent.node.indexes();
    (up[parent.idx] as IndexEntry).lblk = (left[0] as Extent | IndexEntry).lblk;
    const rightKey = (right[0] as Extent | IndexEntry).lblk;
    up.splice(parent.idx + 1, 0, { lblk: rightKey, child: block });
    return 1 + (await this.store(path, level - 1, up, rightKey));
  }

  /** Makes the parent's entry for the node at `level` start at `key`. */
  private async fixParentKey(path: PathStep[], level: number, key: number): Promise<number> {
    if (level === 0) return 0;
    const parent = path[level - 1] as PathStep;
    if (parent.node.key(parent.idx) === key) return 0;
    const up = parent.node.indexes();
    (up[parent.idx] as IndexEntry).lblk = key;
    return this.store(path, level - 1, up, key);
  }

  /** Writes a changed node: the inode for the root, else its block with a fresh checksum. */
  private async persist(node: ExtentNode): Promise<void> {
    const { ctx } = this;
    if (node.block === undefined) {
      await ctx.writeInode();
      return;
    }
    if (ctx.csumSeed !== undefined) node.updateChecksum(ctx.inode.checksumSeed(ctx.csumSeed));
    ctx.cache.markDirty(node.block, node.buf);
  }
}
