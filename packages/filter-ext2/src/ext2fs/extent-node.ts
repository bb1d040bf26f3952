import { nbdError } from '@nbdkit-ts/core';
import { crc32cUpdate } from './crc32c.js';

export const EXTENT_MAGIC = 0xf30a;
/** Size of the extent header and of each entry. */
export const ENTRY_SIZE = 12;
/** The longest initialised extent; an unwritten one is one block shorter. */
export const MAX_INIT_LEN = 32768;
export const MAX_UNWRITTEN_LEN = 32767;

/** A leaf entry: `len` logical blocks from `lblk` at physical `phys`. */
export interface Extent {
  lblk: number;
  len: number;
  phys: number;
  unwritten: boolean;
}

/** An index entry: the subtree at block `child` starts at logical `lblk`. */
export interface IndexEntry {
  lblk: number;
  child: number;
}

/**
 * One node of an extent tree: the 60-byte root in the inode or a tree block.
 * Reads and writes its header and entries in place.
 */
export class ExtentNode {
  private readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    /** The tree block, or undefined for the root in the inode. */
    readonly block: number | undefined,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Starts an empty node in `buf`. */
  static init(buf: Uint8Array, block: number | undefined, depth: number): ExtentNode {
    const node = new ExtentNode(buf, block);
    node.view.setUint16(0, EXTENT_MAGIC, true);
    node.view.setUint16(2, 0, true);
    node.view.setUint16(4, Math.floor((buf.length - ENTRY_SIZE) / ENTRY_SIZE), true);
    node.view.setUint16(6, depth, true);
    node.view.setUint32(8, 0, true);
    return node;
  }

  get magic(): number {
    return this.view.getUint16(0, true);
  }
  get entries(): number {
    return this.view.getUint16(2, true);
  }
  get max(): number {
    return this.view.getUint16(4, true);
  }
  get depth(): number {
    return this.view.getUint16(6, true);
  }
  set depth(value: number) {
    this.view.setUint16(6, value, true);
  }

  /** Throws EIO unless the header is sound for a node of `size` bytes. */
  check(what: string): void {
    const capacity = Math.floor((this.buf.length - ENTRY_SIZE) / ENTRY_SIZE);
    if (this.magic !== EXTENT_MAGIC) throw nbdError('EIO', `${what}: bad extent header magic 0x${this.magic.toString(16)}`);
    if (this.max === 0 || this.max > capacity || this.entries > this.max || this.depth > 5) {
      throw nbdError('EIO', `${what}: corrupt extent header (entries ${this.entries}, max ${this.max}, depth ${this.depth})`);
    }
  }

  /** The logical block an entry (leaf or index) starts at. */
  key(i: number): number {
    return this.view.getUint32(ENTRY_SIZE * (i + 1), true);
  }

  extent(i: number): Extent {
    const at = ENTRY_SIZE * (i + 1);
    const rawLen = this.view.getUint16(at + 4, true);
    const unwritten = rawLen > MAX_INIT_LEN;
    return {
      lblk: this.view.getUint32(at, true),
      len: unwritten ? rawLen - MAX_INIT_LEN : rawLen,
      phys: this.view.getUint16(at + 6, true) * 2 ** 32 + this.view.getUint32(at + 8, true),
      unwritten,
    };
  }

  index(i: number): IndexEntry {
    const at = ENTRY_SIZE * (i + 1);
    return { lblk: this.view.getUint32(at, true), child: this.view.getUint16(at + 8, true) * 2 ** 32 + this.view.getUint32(at + 4, true) };
  }

  extents(): Extent[] {
    return Array.from({ length: this.entries }, (_, i) => this.extent(i));
  }

  indexes(): IndexEntry[] {
    return Array.from({ length: this.entries }, (_, i) => this.index(i));
  }

  /** Replaces the entries with `list` (at most `max`), zeroing the slots after them. */
  store(list: readonly (Extent | IndexEntry)[]): void {
    if (list.length > this.max) throw new Error(`extent node overflow: ${list.length} > ${this.max}`);
    this.view.setUint16(2, list.length, true);
    list.forEach((e, i) => {
      const at = ENTRY_SIZE * (i + 1);
      this.view.setUint32(at, e.lblk, true);
      if ('child' in e) {
        this.view.setUint32(at + 4, e.child % 2 ** 32, true);
        this.view.setUint16(at + 8, Math.floor(e.child / 2 ** 32), true);
        this.view.setUint16(at + 10, 0, true);
      } else {
        this.view.setUint16(at + 4, e.unwritten ? e.len + MAX_INIT_LEN : e.len, true);
        this.view.setUint16(at + 6, Math.floor(e.phys / 2 ** 32), true);
        this.view.setUint32(at + 8, e.phys % 2 ** 32, true);
      }
    });
    this.buf.fill(0, ENTRY_SIZE * (list.length + 1), ENTRY_SIZE * (this.max + 1));
  }

  /** Offset of the checksum tail of a tree block. */
  private get tailOffset(): number {
    return ENTRY_SIZE * (this.max + 1);
  }

  /** The checksum a tree block should carry, seeded by its inode's checksum seed. */
  computeChecksum(inodeSeed: number): number {
    return crc32cUpdate(inodeSeed, this.buf.subarray(0, this.tailOffset));
  }

  get checksum(): number {
    return this.view.getUint32(this.tailOffset, true);
  }

  updateChecksum(inodeSeed: number): void {
    this.view.setUint32(this.tailOffset, this.computeChecksum(inodeSeed), true);
  }
}
