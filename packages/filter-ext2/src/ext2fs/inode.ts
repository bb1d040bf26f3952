import { crc32cUpdate, crc32cU32 } from './crc32c.js';

/** File type bits of `i_mode`. */
export const FileType = {
  MASK: 0xf000,
  REGULAR: 0x8000,
  DIRECTORY: 0x4000,
  SYMLINK: 0xa000,
} as const;

/** `i_flags` bits this implementation looks at. */
export const InodeFlag = {
  ENCRYPT: 0x800,
  HUGE_FILE: 0x40000,
  EXTENTS: 0x80000,
  INLINE_DATA: 0x10000000,
} as const;

/** Size of the classic inode, before `i_extra_isize`. */
export const GOOD_OLD_INODE_SIZE = 128;
/** Offset of `i_block`, the 60 bytes of block pointers, extent root or inline data. */
export const I_BLOCK_OFFSET = 0x28;
export const I_BLOCK_SIZE = 60;

/**
 * One inode: a copy of its on-disk bytes, the fields this implementation
 * reads, and the ones it changes (`i_block`, `i_blocks`).
 */
export class Inode {
  private readonly view: DataView;

  constructor(
    /** The inode number. */
    readonly ino: number,
    /** A private copy of the inode's `s_inode_size` bytes. */
    readonly bytes: Uint8Array,
    /** Whether `i_blocks` may use its high bits (huge_file feature). */
    private readonly hugeFile: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get mode(): number {
    return this.view.getUint16(0x00, true);
  }
  get fileType(): number {
    return this.mode & FileType.MASK;
  }
  get size(): bigint {
    return (BigInt(this.view.getUint32(0x6c, true)) << 32n) | BigInt(this.view.getUint32(0x04, true));
  }
  get flags(): number {
    return this.view.getUint32(0x20, true);
  }
  hasFlag(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }
  get generation(): number {
    return this.view.getUint32(0x64, true);
  }
  get extraIsize(): number {
    return this.bytes.length > GOOD_OLD_INODE_SIZE ? this.view.getUint16(0x80, true) : 0;
  }
  /** The 60 bytes of `i_block` (a view: changes go to the copy). */
  get iBlock(): Uint8Array {
    return this.bytes.subarray(I_BLOCK_OFFSET, I_BLOCK_OFFSET + I_BLOCK_SIZE);
  }

  /** `i_blocks` in its stored unit (512-byte sectors, or filesystem blocks with HUGE_FILE_FL). */
  private get rawBlocks(): number {
    const hi = this.hugeFile ? this.view.getUint16(0x74, true) : 0;
    return hi * 2 ** 32 + this.view.getUint32(0x1c, true);
  }

  /** Adds `blocks` filesystem blocks of `blockSize` bytes to `i_blocks`. */
  addBlocks(blocks: number, blockSize: number): void {
    const unit = this.hasFlag(InodeFlag.HUGE_FILE) && this.hugeFile ? blockSize : 512;
    const value = this.rawBlocks + (blocks * blockSize) / unit;
    this.view.setUint32(0x1c, value % 2 ** 32, true);
    if (this.hugeFile) this.view.setUint16(0x74, Math.floor(value / 2 ** 32), true);
  }

  /** Whether the inode has room for `i_checksum_hi`. */
  private get hasChecksumHi(): boolean {
    return this.bytes.length > GOOD_OLD_INODE_SIZE && this.extraIsize >= 4;
  }

  /** The stored checksum. */
  get checksum(): number {
    const lo = this.view.getUint16(0x7c, true);
    return this.hasChecksumHi ? ((this.view.getUint16(0x82, true) << 16) | lo) >>> 0 : lo;
  }

  /** The seed of this inode's extent block checksums: crc32c over the inode number and generation. */
  checksumSeed(fsSeed: number): number {
    return crc32cU32(crc32cU32(fsSeed, this.ino), this.generation);
  }

  /** The checksum the inode should carry (metadata_csum). */
  computeChecksum(fsSeed: number): number {
    const copy = this.bytes.slice();
    const v = new DataView(copy.buffer);
    v.setUint16(0x7c, 0, true);
    if (this.hasChecksumHi) v.setUint16(0x82, 0, true);
    const crc = crc32cUpdate(this.checksumSeed(fsSeed), copy);
    return this.hasChecksumHi ? crc : crc & 0xffff;
  }

  /** Stores the checksum (metadata_csum). */
  updateChecksum(fsSeed: number): void {
    const crc = this.computeChecksum(fsSeed);
    this.view.setUint16(0x7c, crc & 0xffff, true);
    if (this.hasChecksumHi) this.view.setUint16(0x82, crc >>> 16, true);
  }
}
