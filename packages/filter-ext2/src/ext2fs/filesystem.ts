import { nbdError } from '@nbdkit-ts/core';
import { BlockAllocator } from './block-allocator.js';
import { BlockCache } from './block-cache.js';
import type { BlockDevice } from './block-device.js';
import { crc32cUpdate } from './crc32c.js';
import { dirEntries, nameEquals } from './directory.js';
import { ExtentMap } from './extent-map.js';
import { Incompat, incompatNames, READ_ONLY_INCOMPAT, roCompatNames, RoCompat, SUPPORTED_INCOMPAT, WRITABLE_RO_COMPAT } from './features.js';
import { FsFile, type FileHost } from './fs-file.js';
import { GroupDescriptors } from './group-descriptors.js';
import { IndirectMap } from './indirect-map.js';
import { InlineData } from './inline-data.js';
import { FileType, Inode, InodeFlag } from './inode.js';
import { Layout } from './layout.js';
import type { MapContext } from './map-context.js';
import { Mutex } from '@nbdkit-ts/core';
import { Superblock, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE } from './superblock.js';

const ROOT_INO = 2;

/**
 * A mounted ext2/3/4 filesystem: finds files by path and serves them.
 * Metadata changes stay in memory until {@link flush}, which writes them
 * back and then flushes the image.
 */
export class Filesystem implements FileHost {
  readonly lock = new Mutex();
  readonly blockSize: number;
  readonly allocator: BlockAllocator;
  private readonly files = new Map<number, Promise<FsFile>>();
  private superblockDirty = false;

  private constructor(
    readonly device: BlockDevice,
    readonly sb: Superblock,
    readonly layout: Layout,
    readonly cache: BlockCache,
    readonly groups: GroupDescriptors,
    private readonly csumSeed: number,
    /** Whether files may be written. */
    readonly writable: boolean,
    /** Why a filesystem on a writable device is not writable (empty otherwise). */
    readonly readonlyReasons: readonly string[],
  ) {
    this.blockSize = sb.blockSize;
    this.allocator = new BlockAllocator(sb, layout, groups, cache, csumSeed, () => (this.superblockDirty = true));
  }

  /**
   * Reads the superblock and group descriptors; throws a clear error for what
   * cannot be served. Writable when the device is and no feature or state of
   * the filesystem forbids it.
   */
  static async mount(device: BlockDevice): Promise<Filesystem> {
    if (device.size < BigInt(SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE)) {
      throw nbdError('EINVAL', `the image (${device.size} bytes) is too small to hold an ext2/3/4 filesystem`);
    }
    const bytes = new Uint8Array(SUPERBLOCK_SIZE);
    await device.read(bytes, BigInt(SUPERBLOCK_OFFSET));
    const sb = new Superblock(bytes);
    sb.validate();
    const unknown = (sb.featureIncompat & ~SUPPORTED_INCOMPAT) >>> 0;
    if (unknown !== 0) throw nbdError('EINVAL', `unsupported incompatible filesystem features: ${incompatNames(unknown).join(', ')}`);
    const end = sb.blocksCount * BigInt(sb.blockSize);
    if (device.size < end) throw nbdError('EINVAL', `the image (${device.size} bytes) is smaller than the filesystem (${end} bytes)`);

    const reasons: string[] = [];
    if (sb.hasIncompat(Incompat.RECOVER)) reasons.push('the journal needs recovery');
    if (sb.hasErrors) reasons.push('the filesystem is marked as having errors');
    const roIncompat = sb.featureIncompat & READ_ONLY_INCOMPAT & ~Incompat.RECOVER;
    if (roIncompat !== 0) reasons.push(`features that writing would ignore: ${incompatNames(roIncompat).join(', ')}`);
    const roCompat = (sb.featureRoCompat & ~WRITABLE_RO_COMPAT) >>> 0;
    if (roCompat !== 0) reasons.push(`read-only-compatible features that writing cannot keep up to date: ${roCompatNames(roCompat).join(', ')}`);
    const writable = device.writable && reasons.length === 0;

    const csumSeed = sb.hasIncompat(Incompat.CSUM_SEED) ? sb.checksumSeedField : crc32cUpdate(0xffffffff, sb.uuid);
    const layout = new Layout(sb);
    const cache = new BlockCache(device, sb.blockSize);
    const groups = await GroupDescriptors.load(sb, layout, cache, csumSeed);
    return new Filesystem(device, sb, layout, cache, groups, csumSeed, writable, device.writable ? reasons : []);
  }

  private get metadataCsumSeed(): number | undefined {
    return this.sb.metadataCsum ? this.csumSeed : undefined;
  }

  goalFor(ino: number): number {
    return this.layout.groupFirstBlock(Math.floor((ino - 1) / this.sb.inodesPerGroup));
  }

  private inodeLocation(ino: number): { block: number; offset: number } {
    if (ino < 1 || ino > this.sb.inodesCount) throw nbdError('EIO', `inode number ${ino} is out of range`);
    const ipg = this.sb.inodesPerGroup;
    const group = Math.floor((ino - 1) / ipg);
    const byte = ((ino - 1) % ipg) * this.sb.inodeSize;
    return { block: this.groups.inodeTable(group) + Math.floor(byte / this.blockSize), offset: byte % this.blockSize };
  }

  /** Reads inode `ino`, checking its checksum. */
  async readInode(ino: number): Promise<Inode> {
    const { block, offset } = this.inodeLocation(ino);
    const buf = await this.cache.get(block);
    const inode = new Inode(ino, buf.slice(offset, offset + this.sb.inodeSize), this.sb.hasRoCompat(RoCompat.HUGE_FILE));
    const seed = this.metadataCsumSeed;
    if (seed !== undefined && inode.checksum !== inode.computeChecksum(seed)) throw nbdError('EIO', `inode ${ino}: checksum does not match`);
    return inode;
  }

  async writeInode(inode: Inode): Promise<void> {
    const seed = this.metadataCsumSeed;
    if (seed !== undefined) inode.updateChecksum(seed);
    const { block, offset } = this.inodeLocation(inode.ino);
    const buf = await this.cache.get(block);
    buf.set(inode.bytes, offset);
    this.cache.markDirty(block, buf);
  }

  /**
   * The inode of the regular file at absolute `path`. Symbolic links are not
   * followed. Throws ENOENT when a component is missing, ENOTDIR when one is
   * not a directory, EINVAL when the file is not a regular file.
   */
  async lookup(path: string): Promise<number> {
    if (!path.startsWith('/')) throw nbdError('EINVAL', `${path}: not an absolute path`);
    const parts = path.split('/').filter((p) => p !== '');
    let ino = ROOT_INO;
    let walked = '';
    for (const part of parts) {
      const dir = await this.readInode(ino);
      if (dir.fileType === FileType.SYMLINK) throw nbdError('EINVAL', `${walked}: is a symbolic link (symbolic links are not followed)`);
      if (dir.fileType !== FileType.DIRECTORY) throw nbdError('ENOTDIR', `${walked}: not a directory`);
      walked += `/${part}`;
      const found = await this.findEntry(dir, new TextEncoder().encode(part));
      if (found === undefined) throw nbdError('ENOENT', `${walked}: no such file or directory in the filesystem`);
      ino = found;
    }
    const inode = await this.readInode(ino);
    const shown = walked === '' ? '/' : walked;
    if (inode.fileType === FileType.SYMLINK) throw nbdError('EINVAL', `${shown}: is a symbolic link (symbolic links are not followed)`);
    if (inode.fileType === FileType.DIRECTORY) throw nbdError('EINVAL', `${shown}: is a directory, not a regular file`);
    if (inode.fileType !== FileType.REGULAR) throw nbdError('EINVAL', `${shown}: not a regular file`);
    return ino;
  }

  /** Scans a directory (linear and htree directories alike) for `name`. */
  private async findEntry(dir: Inode, name: Uint8Array): Promise<number | undefined> {
    const file = await this.fileOf(dir);
    if (dir.hasFlag(InodeFlag.INLINE_DATA)) {
      const all = new Uint8Array(Number(file.size));
      await file.pread(all, 0n);
      // The first four bytes hold the parent's inode number; entries follow.
      for (const e of dirEntries(all.subarray(4), this.blockSize)) if (nameEquals(e, name)) return e.ino;
      return undefined;
    }
    const block = new Uint8Array(this.blockSize);
    for (let at = 0n; at < file.size; at += BigInt(this.blockSize)) {
      await file.pread(block, at);
      for (const e of dirEntries(block, this.blockSize)) if (nameEquals(e, name)) return e.ino;
    }
    return undefined;
  }

  /** The shared open file for regular file inode `ino`. */
  open(ino: number): Promise<FsFile> {
    let file = this.files.get(ino);
    if (file === undefined) {
      file = this.readInode(ino).then((inode) => this.fileOf(inode));
      this.files.set(ino, file);
      file.catch(() => this.files.delete(ino));
    }
    return file;
  }

  private async fileOf(inode: Inode): Promise<FsFile> {
    if (inode.hasFlag(InodeFlag.ENCRYPT)) throw nbdError('EINVAL', `inode ${inode.ino}: the file is encrypted`);
    if (inode.hasFlag(InodeFlag.INLINE_DATA)) return new FsFile(this, inode, { inline: new InlineData(inode) });
    const ctx: MapContext = {
      cache: this.cache,
      allocator: this.allocator,
      blockSize: this.blockSize,
      csumSeed: this.metadataCsumSeed,
      inode,
      writeInode: () => this.writeInode(inode),
    };
    const map = inode.hasFlag(InodeFlag.EXTENTS) ? await ExtentMap.load(ctx) : new IndirectMap(ctx);
    return new FsFile(this, inode, { map });
  }

  /** Writes back changed metadata, then flushes the image. */
  async flush(): Promise<void> {
    await this.lock.run(() => this.writeBack());
    await this.device.flush();
  }

  private async writeBack(): Promise<void> {
    if (!this.writable) return;
    await this.cache.writeBack();
    if (this.superblockDirty) {
      this.superblockDirty = false;
      this.sb.updateChecksum();
      await this.device.write(this.sb.bytes, BigInt(SUPERBLOCK_OFFSET));
    }
  }
}
