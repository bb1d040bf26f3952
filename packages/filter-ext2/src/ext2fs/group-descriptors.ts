import { nbdError } from '@nbdkit-ts/core';
import type { BlockCache } from './block-cache.js';
import { crc16Update } from './crc16.js';
import { crc32cUpdate, crc32cU32 } from './crc32c.js';
import { RoCompat } from './features.js';
import type { Layout } from './layout.js';
import type { Superblock } from './superblock.js';

/** `bg_flags` bits. */
export const GroupFlag = {
  BLOCK_UNINIT: 0x2,
} as const;

const CHECKSUM_OFFSET = 0x1e;

/**
 * The group descriptor table, kept in memory (pinned in the block cache) for
 * the life of the mount. Fields of 64-bit filesystems combine their low and
 * high halves. Every setter leaves the descriptor's checksum to
 * {@link updateChecksum}.
 */
export class GroupDescriptors {
  private readonly buffers: Uint8Array[] = [];

  private constructor(
    private readonly sb: Superblock,
    private readonly layout: Layout,
    private readonly cache: BlockCache,
    private readonly csumSeed: number,
  ) {}

  /** Reads every descriptor block and checks the descriptors' checksums. */
  static async load(sb: Superblock, layout: Layout, cache: BlockCache, csumSeed: number): Promise<GroupDescriptors> {
    const gd = new GroupDescriptors(sb, layout, cache, csumSeed);
    for (let i = 0; i < layout.descBlocks; i++) {
      const block = layout.descBlockLocation(i);
      const buf = await cache.get(block);
      cache.pin(block, buf);
      gd.buffers.push(buf);
    }
    for (let g = 0; g < layout.groupCount; g++) {
      if (gd.hasChecksum && gd.checksum(g) !== gd.computeChecksum(g)) {
        throw nbdError('EIO', `group descriptor ${g}: checksum does not match`);
      }
    }
    return gd;
  }

  private at(g: number): { view: DataView; off: number } {
    const buf = this.buffers[Math.floor(g / this.layout.descsPerBlock)] as Uint8Array;
    return { view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength), off: (g % this.layout.descsPerBlock) * this.layout.descSize };
  }

  private bytes(g: number): Uint8Array {
    const buf = this.buffers[Math.floor(g / this.layout.descsPerBlock)] as Uint8Array;
    const off = (g % this.layout.descsPerBlock) * this.layout.descSize;
    return buf.subarray(off, off + this.layout.descSize);
  }

  private wide(): boolean {
    return this.layout.descSize >= 64;
  }

  private get32(g: number, lo: number, hi: number): number {
    const { view, off } = this.at(g);
    const high = this.wide() ? view.getUint32(off + hi, true) : 0;
    return high * 2 ** 32 + view.getUint32(off + lo, true);
  }

  private get16(g: number, lo: number, hi: number): number {
    const { view, off } = this.at(g);
    const high = this.wide() ? view.getUint16(off + hi, true) : 0;
    return high * 65536 + view.getUint16(off + lo, true);
  }

  private set16(g: number, lo: number, hi: number, value: number): void {
    const { view, off } = this.at(g);
    view.setUint16(off + lo, value & 0xffff, true);
    if (this.wide()) view.setUint16(off + hi, Math.floor(value / 65536), true);
  }

  blockBitmap(g: number): number {
    return this.get32(g, 0x00, 0x20);
  }
  inodeBitmap(g: number): number {
    return this.get32(g, 0x04, 0x24);
  }
  inodeTable(g: number): number {
    return this.get32(g, 0x08, 0x28);
  }
  freeBlocks(g: number): number {
    return this.get16(g, 0x0c, 0x2c);
  }
  setFreeBlocks(g: number, value: number): void {
    this.set16(g, 0x0c, 0x2c, value);
  }
  flags(g: number): number {
    const { view, off } = this.at(g);
    return view.getUint16(off + 0x12, true);
  }
  setFlags(g: number, value: number): void {
    const { view, off } = this.at(g);
    view.setUint16(off + 0x12, value, true);
  }
  /** Stores the block bitmap's checksum (metadata_csum). */
  setBlockBitmapChecksum(g: number, crc: number): void {
    const { view, off } = this.at(g);
    view.setUint16(off + 0x18, crc & 0xffff, true);
    if (this.wide()) view.setUint16(off + 0x38, crc >>> 16, true);
  }

  /** Whether descriptors carry a checksum (metadata_csum or uninit_bg). */
  get hasChecksum(): boolean {
    return this.sb.metadataCsum || this.sb.hasRoCompat(RoCompat.GDT_CSUM);
  }

  checksum(g: number): number {
    const { view, off } = this.at(g);
    return view.getUint16(off + CHECKSUM_OFFSET, true);
  }

  /** The checksum descriptor `g` should carry. */
  computeChecksum(g: number): number {
    const desc = this.bytes(g);
    const before = desc.subarray(0, CHECKSUM_OFFSET);
    const after = desc.subarray(CHECKSUM_OFFSET + 2);
    if (this.sb.metadataCsum) {
      // The checksum field counts as zeroes.
      let crc = crc32cU32(this.csumSeed, g);
      crc = crc32cUpdate(crc, before);
      crc = crc32cUpdate(crc, new Uint8Array(2));
      crc = crc32cUpdate(crc, after);
      return crc & 0xffff;
    }
    const group = new Uint8Array(4);
    new DataView(group.buffer).setUint32(0, g, true);
    let crc = crc16Update(0xffff, this.sb.uuid);
    crc = crc16Update(crc, group);
    crc = crc16Update(crc, before);
    if (this.sb.is64bit) crc = crc16Update(crc, after);
    return crc;
  }

  /** Recomputes descriptor `g`'s checksum and marks its block dirty. */
  updateChecksum(g: number): void {
    if (this.hasChecksum) {
      const { view, off } = this.at(g);
      view.setUint16(off + CHECKSUM_OFFSET, this.computeChecksum(g), true);
    }
    const i = Math.floor(g / this.layout.descsPerBlock);
    this.cache.markDirty(this.layout.descBlockLocation(i), this.buffers[i] as Uint8Array);
  }
}
