import { ExtentList, ExtentType, isPromise, nbdError, toSafeNumber } from '@nbdkit-ts/core';
import type { BlockAllocator } from './block-allocator.js';
import type { BlockDevice } from './block-device.js';
import type { BlockMap, Mapping } from './block-map.js';
import type { InlineData } from './inline-data.js';
import type { Inode } from './inode.js';
import type { Mutex } from '@nbdkit-ts/core';

/** What a file needs from its filesystem. */
export interface FileHost {
  readonly device: BlockDevice;
  readonly blockSize: number;
  readonly writable: boolean;
  /** Serialises changes to allocation metadata. */
  readonly lock: Mutex;
  readonly allocator: BlockAllocator;
  /** First block of the group holding inode `ino`: where its data goes by default. */
  goalFor(ino: number): number;
  /** Stores an inode (with a fresh checksum). */
  writeInode(inode: Inode): Promise<void>;
}

/** Most extents reported in one extents call. */
const MAX_EXTENTS_PER_CALL = 4096;
/** Free blocks a write into a hole leaves for the extent tree or indirect blocks it may add. */
const METADATA_RESERVE = 16;
/** Largest buffer of zeroes written at once by zero(). */
const ZERO_CHUNK = 1 << 20;
let zeroes: Uint8Array | undefined;

/** Keeps the calls that answered with a promise, to wait for them together. */
function pending(list: Promise<void>[], result: void | Promise<void>): void {
  if (isPromise(result)) list.push(result);
}

/**
 * Waits for a walk and for the calls it started. When the walk fails, the
 * calls already started are still waited for (and their errors handled)
 * before its error is thrown.
 */
async function together(walking: Promise<void>, calls: Promise<void>[]): Promise<void> {
  try {
    await walking;
  } catch (e) {
    await Promise.allSettled(calls);
    throw e;
  }
  await Promise.all(calls);
}

/**
 * An open file of the filesystem, shared by every connection that serves it.
 * Reads and overwrites of written blocks go straight to the image, one call
 * per contiguous run; writes into holes or unwritten extents take the
 * filesystem's allocation lock. The size never changes.
 */
export class FsFile {
  readonly size: bigint;
  private readonly bs: number;
  private readonly bsBig: bigint;

  constructor(
    private readonly host: FileHost,
    readonly inode: Inode,
    private readonly content: { readonly map: BlockMap } | { readonly inline: InlineData },
  ) {
    this.size = inode.size;
    this.bs = host.blockSize;
    this.bsBig = BigInt(host.blockSize);
  }

  private get map(): BlockMap | undefined {
    return 'map' in this.content ? this.content.map : undefined;
  }

  /** Splits a byte range into runs of one mapping each and calls `each` with the byte ranges. */
  private async walk(
    offset: bigint,
    count: number,
    each: (m: Mapping, from: number, to: number, byteOffset: bigint) => Promise<void> | boolean | undefined,
  ): Promise<void> {
    const map = this.map as BlockMap;
    let done = 0;
    while (done < count) {
      const at = offset + BigInt(done);
      const lblk = toSafeNumber(at / this.bsBig, 'logical block');
      const within = Number(at % this.bsBig);
      const wantBlocks = Math.ceil((within + count - done) / this.bs);
      const m = await map.lookup(lblk, wantBlocks);
      const n = Math.min(count - done, m.length * this.bs - within);
      const r = each(m, done, done + n, m.physical === 0 ? 0n : BigInt(m.physical) * this.bsBig + BigInt(within));
      if (r === false) return;
      if (r instanceof Promise) await r;
      done += n;
    }
  }

  async pread(buf: Uint8Array, offset: bigint): Promise<void> {
    if ('inline' in this.content) {
      this.content.inline.read(buf, Number(offset));
      return;
    }
    const reads: Promise<void>[] = [];
    const walking = this.walk(offset, buf.length, (m, from, to, at) => {
      if (m.physical === 0 || m.unwritten) buf.fill(0, from, to);
      else pending(reads, this.host.device.read(buf.subarray(from, to), at));
    });
    await together(walking, reads);
  }

  async pwrite(buf: Uint8Array, offset: bigint): Promise<void> {
    this.checkWritable();
    if ('inline' in this.content) {
      const inline = this.content.inline;
      await this.host.lock.run(async () => {
        inline.write(buf, Number(offset));
        await this.host.writeInode(this.inode);
      });
      return;
    }
    const writes: Promise<void>[] = [];
    const unmapped: [number, number][] = [];
    const walking = this.walk(offset, buf.length, (m, from, to, at) => {
      if (m.physical === 0 || m.unwritten) unmapped.push([from, to]);
      else pending(writes, this.host.device.write(buf.subarray(from, to), at));
    });
    await together(walking, writes);
    if (unmapped.length > 0) await this.host.lock.run(() => this.fill(buf, offset, unmapped));
  }

  /**
   * Under the allocation lock: writes the parts of `buf` that fell on holes
   * or unwritten extents. Whole blocks are written (zero-filled around the
   * data), then mapped; parts another writer mapped meanwhile are overwritten.
   */
  private async fill(buf: Uint8Array, offset: bigint, ranges: readonly [number, number][]): Promise<void> {
    const map = this.map as BlockMap;
    const { host, bs } = this;
    for (const [from, to] of ranges) {
      let pos = from;
      while (pos < to) {
        const at = offset + BigInt(pos);
        const lblk = toSafeNumber(at / this.bsBig, 'logical block');
        const within = Number(at % this.bsBig);
        const blocks = Math.ceil((within + to - pos) / bs);
        const m = await map.lookup(lblk, Math.min(blocks, map.maxMapRun));
        if (m.physical !== 0 && !m.unwritten) {
          const n = Math.min(to - pos, m.length * bs - within);
          await host.device.write(buf.subarray(pos, pos + n), BigInt(m.physical) * this.bsBig + BigInt(within));
          pos += n;
          continue;
        }
        let physical = m.physical;
        let count = m.length;
        const hole = physical === 0;
        if (hole) {
          // Keep room for the tree or indirect blocks that mapping may need, so it cannot fail for space.
          count = Math.min(count, host.allocator.freeBlocks - METADATA_RESERVE - Math.ceil(count / 64));
          if (count <= 0) throw nbdError('ENOSPC', 'no free blocks left in the filesystem');
          const prev = lblk > 0 ? await map.lookup(lblk - 1, 1) : undefined;
          const goal = prev !== undefined && prev.physical !== 0 ? prev.physical + 1 : host.goalFor(this.inode.ino);
          const run = await host.allocator.allocate(goal, count);
          physical = run.start;
          count = run.count;
        }
        const n = Math.min(to - pos, count * bs - within);
        const whole = within === 0 && n === count * bs;
        const data = whole ? buf.subarray(pos, pos + n) : new Uint8Array(count * bs);
        if (!whole) data.set(buf.subarray(pos, pos + n), within);
        try {
          await host.device.write(data, BigInt(physical) * this.bsBig);
        } catch (e) {
          if (hole) await host.allocator.free({ start: physical, count });
          throw e;
        }
        const metadata = await map.map(lblk, count, physical);
        this.inode.addBlocks((hole ? count : 0) + metadata, bs);
        await host.writeInode(this.inode);
        pos += n;
      }
    }
  }

  /** Makes a range read as zeroes: holes and unwritten extents are left alone, written blocks are overwritten. */
  async zero(count: number, offset: bigint): Promise<void> {
    this.checkWritable();
    if ('inline' in this.content) {
      await this.pwrite(new Uint8Array(count), offset);
      return;
    }
    zeroes ??= new Uint8Array(ZERO_CHUNK);
    const z = zeroes;
    const writes: Promise<void>[] = [];
    const walking = this.walk(offset, count, (m, from, to, at) => {
      if (m.physical === 0 || m.unwritten) return;
      for (let p = from; p < to; p += ZERO_CHUNK) {
        const n = Math.min(ZERO_CHUNK, to - p);
        pending(writes, this.host.device.write(z.subarray(0, n), at + BigInt(p - from)));
      }
    });
    await together(walking, writes);
  }

  /** Reports data, holes (hole and zero) and unwritten extents (zero). */
  async extents(count: number, offset: bigint, list: ExtentList): Promise<void> {
    if ('inline' in this.content) {
      list.add(offset, BigInt(count), ExtentType.DATA);
      return;
    }
    let reported = 0;
    await this.walk(offset, count, (m, from, to) => {
      const type = m.physical === 0 ? ExtentType.HOLE | ExtentType.ZERO : m.unwritten ? ExtentType.ZERO : ExtentType.DATA;
      list.add(offset + BigInt(from), BigInt(to - from), type);
      return ++reported < MAX_EXTENTS_PER_CALL ? undefined : false;
    });
  }

  private checkWritable(): void {
    if (!this.host.writable) throw nbdError('EROFS', 'the filesystem is mounted read-only');
  }
}
