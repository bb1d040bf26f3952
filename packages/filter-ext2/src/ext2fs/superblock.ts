import { crc32cUpdate } from './crc32c.js';
import { Incompat, RoCompat } from './features.js';
import { nbdError } from '@nbdkit-ts/core';

/** Byte offset of the superblock in the image, and its size. */
export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;

const MAGIC = 0xef53;
/** `s_state` bits. */
const STATE_ERRORS = 0x2;
/** Offset of `s_checksum`, the last field. */
const CHECKSUM_OFFSET = 0x3fc;

/**
 * The superblock: the fields this implementation uses, read from (and written
 * to) its 1024 bytes. Setters change the buffer; {@link updateChecksum}
 * must follow before it is written.
 */
export class Superblock {
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private u16(at: number): number {
    return this.view.getUint16(at, true);
  }
  private u32(at: number): number {
    return this.view.getUint32(at, true);
  }
  private hiLo(lo: number, hi: number): bigint {
    const high = this.is64bit ? this.u32(hi) : 0;
    return (BigInt(high) << 32n) | BigInt(this.u32(lo));
  }

  get magic(): number {
    return this.u16(0x38);
  }
  get inodesCount(): number {
    return this.u32(0x00);
  }
  get blocksCount(): bigint {
    return this.hiLo(0x04, 0x150);
  }
  get freeBlocksCount(): bigint {
    return this.hiLo(0x0c, 0x158);
  }
  set freeBlocksCount(value: bigint) {
    this.view.setUint32(0x0c, Number(value & 0xffffffffn), true);
    if (this.is64bit) this.view.setUint32(0x158, Number(value >> 32n), true);
  }
  get firstDataBlock(): number {
    return this.u32(0x14);
  }
  get logBlockSize(): number {
    return this.u32(0x18);
  }
  get blockSize(): number {
    return 1024 * 2 ** this.logBlockSize;
  }
  get blocksPerGroup(): number {
    return this.u32(0x20);
  }
  get clustersPerGroup(): number {
    return this.u32(0x24);
  }
  get inodesPerGroup(): number {
    return this.u32(0x28);
  }
  get state(): number {
    return this.u16(0x3a);
  }
  get hasErrors(): boolean {
    return (this.state & STATE_ERRORS) !== 0;
  }
  get revLevel(): number {
    return this.u32(0x4c);
  }
  get inodeSize(): number {
    return this.revLevel === 0 ? 128 : this.u16(0x58);
  }
  get featureCompat(): number {
    return this.u32(0x5c);
  }
  get featureIncompat(): number {
    return this.u32(0x60);
  }
  get featureRoCompat(): number {
    return this.u32(0x64);
  }
  get uuid(): Uint8Array {
    return this.bytes.subarray(0x68, 0x78);
  }
  get reservedGdtBlocks(): number {
    return this.u16(0xce);
  }
  get descSize(): number {
    return this.is64bit ? this.u16(0xfe) : 32;
  }
  get firstMetaBg(): number {
    return this.u32(0x104);
  }
  /** `s_backup_bgs`: the two groups holding backups with sparse_super2. */
  get backupGroups(): [number, number] {
    return [this.u32(0x24c), this.u32(0x250)];
  }
  get checksumSeedField(): number {
    return this.u32(0x270);
  }
  get checksum(): number {
    return this.u32(CHECKSUM_OFFSET);
  }

  get is64bit(): boolean {
    return (this.u32(0x60) & Incompat.BIT64) !== 0;
  }
  hasIncompat(bit: number): boolean {
    return (this.featureIncompat & bit) !== 0;
  }
  hasRoCompat(bit: number): boolean {
    return (this.featureRoCompat & bit) !== 0;
  }
  hasCompat(bit: number): boolean {
    return (this.featureCompat & bit) !== 0;
  }
  get metadataCsum(): boolean {
    return this.hasRoCompat(RoCompat.METADATA_CSUM);
  }

  /** The checksum `s_checksum` should hold. */
  computeChecksum(): number {
    return crc32cUpdate(0xffffffff, this.bytes.subarray(0, CHECKSUM_OFFSET));
  }

  /** Sets `s_checksum` (metadata_csum filesystems only). */
  updateChecksum(): void {
    if (this.metadataCsum) this.view.setUint32(CHECKSUM_OFFSET, this.computeChecksum(), true);
  }

  /** Checks what every later step relies on; throws an error naming the problem. */
  validate(): void {
    if (this.magic !== MAGIC) throw nbdError('EINVAL', `not an ext2/3/4 filesystem (bad superblock magic 0x${this.magic.toString(16)})`);
    if (this.metadataCsum && this.computeChecksum() !== this.checksum) throw nbdError('EIO', 'superblock checksum does not match');
    if (this.logBlockSize > 6) throw nbdError('EINVAL', `unsupported block size 2^(10+${this.logBlockSize})`);
    const bad = (what: string): never => {
      throw nbdError('EINVAL', `corrupt superblock: ${what}`);
    };
    if (this.blocksPerGroup === 0 || this.blocksPerGroup > this.blockSize * 8) bad(`blocks per group ${this.blocksPerGroup}`);
    if (this.inodesPerGroup === 0) bad('inodes per group is 0');
    const inodeSize = this.inodeSize;
    if (inodeSize < 128 || inodeSize > this.blockSize || (inodeSize & (inodeSize - 1)) !== 0) bad(`inode size ${inodeSize}`);
    if (this.is64bit && (this.descSize < 32 || (this.descSize & (this.descSize - 1)) !== 0 || this.descSize > 1024)) {
      bad(`group descriptor size ${this.descSize}`);
    }
    if (this.blocksCount <= BigInt(this.firstDataBlock)) bad(`blocks count ${this.blocksCount}`);
  }
}
