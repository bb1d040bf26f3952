import { ExtentList, ExtentType, Flag, RangeLock, toCount, type Flags, type Next } from '@nbdkit-ts/core';
import { BlockMap, BlockState } from './block-map.js';
import type { OverlayFile } from './overlay-file.js';
import { copiesOnRead, type Settings } from './settings.js';

/** Bytes read from the disk beneath at once when blocks are copied into the overlay. */
const COPY_CHUNK = 4n << 20n;

/** A byte range whose blocks all have one state. */
interface Run {
  readonly state: BlockState;
  readonly from: bigint;
  readonly to: bigint;
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * The copy-on-write view of one export: a block map saying where each block
 * lives (the disk beneath, the overlay file, or nowhere because it reads as
 * zeroes) and the overlay file. Every call takes the Next of the connection
 * asking, for the blocks still beneath. Calls that change blocks hold a lock
 * on them, so a block is copied up from beneath at most once and concurrent
 * writers to one block never lose each other's bytes.
 */
export class Overlay {
  private readonly map = new BlockMap();
  private readonly lock = new RangeLock();
  private readonly bs: bigint;

  constructor(
    readonly file: OverlayFile,
    /** Size of the disk beneath, and of the export. */
    readonly size: bigint,
    private readonly settings: Settings,
  ) {
    this.bs = BigInt(settings.blockSize);
  }

  private block(offset: bigint): number {
    return Number(offset / this.bs);
  }

  private start(block: number): bigint {
    return BigInt(block) * this.bs;
  }

  /** End of `block`: the last block of a disk whose size is not a multiple of the block size is short. */
  private end(block: number): bigint {
    return min(this.start(block + 1), this.size);
  }

  /** The runs covering `[from, to)`, each found as the previous one is done with. */
  private *runs(from: bigint, to: bigint): Generator<Run> {
    while (from < to) {
      const first = this.block(from);
      const blocks = this.map.run(first, this.block(to - 1n) - first + 1);
      const end = min(this.start(first + blocks), to);
      yield { state: this.map.get(first), from, to: end };
      from = end;
    }
  }

  /** Runs `section` holding the blocks of `[from, to)`. */
  private locked<T>(from: bigint, to: bigint, section: () => Promise<T>): Promise<T> {
    return this.lock.run(this.block(from), this.block(to - 1n), section);
  }

  pread(base: Next, buf: Uint8Array, offset: bigint): Promise<void> {
    return this.read(base, buf, offset, copiesOnRead(this.settings));
  }

  /** Reads each run from where it is; with `copy`, runs still beneath are copied into the overlay first. */
  private async read(base: Next, buf: Uint8Array, offset: bigint, copy: boolean): Promise<void> {
    for (const run of this.runs(offset, offset + BigInt(buf.length))) {
      const piece = buf.subarray(Number(run.from - offset), Number(run.to - offset));
      if (run.state === BlockState.BASE && copy) {
        await this.locked(run.from, run.to, async () => {
          await this.copyUp(base, run.from, run.to);
          await this.read(base, piece, run.from, false);
        });
      } else {
        await this.readRun(base, run.state, piece, run.from);
      }
    }
  }

  private async readRun(base: Next, state: BlockState, piece: Uint8Array, from: bigint): Promise<void> {
    if (state === BlockState.DATA) await this.file.read(piece, from);
    else if (state === BlockState.ZERO) piece.fill(0);
    else await base.pread(piece, from, 0);
  }

  async pwrite(base: Next, buf: Uint8Array, offset: bigint): Promise<void> {
    const at = (from: bigint, to: bigint) => buf.subarray(Number(from - offset), Number(to - offset));
    await this.changing(
      offset,
      offset + BigInt(buf.length),
      async (from, to) => {
        await this.file.write(at(from, to), from);
        this.setBlocks(from, to, BlockState.DATA);
      },
      (block, from, to) => this.writePartial(base, block, from, at(from, to)),
    );
  }

  /** Trim and zero: whole blocks become zero blocks, parts of blocks are written with zeroes. */
  async zero(base: Next, count: number, offset: bigint): Promise<void> {
    await this.changing(
      offset,
      offset + BigInt(count),
      (from, to) => {
        this.setBlocks(from, to, BlockState.ZERO);
        return Promise.resolve();
      },
      async (block, from, to) => {
        if (this.map.get(block) !== BlockState.ZERO) await this.writePartial(base, block, from, new Uint8Array(Number(to - from)));
      },
    );
  }

  /**
   * Holding the blocks of `[from, to)`, calls `whole` for each range of whole
   * blocks and `partial` for each part of a block.
   */
  private changing(
    from: bigint,
    to: bigint,
    whole: (from: bigint, to: bigint) => Promise<void>,
    partial: (block: number, from: bigint, to: bigint) => Promise<void>,
  ): Promise<void> {
    return this.locked(from, to, async () => {
      for (let pos = from; pos < to; ) {
        const block = this.block(pos);
        const blockEnd = this.end(block);
        if (pos === this.start(block) && to >= blockEnd) {
          const wholeTo = to >= this.size ? this.size : to - (to % this.bs);
          await whole(pos, wholeTo);
          pos = wholeTo;
        } else {
          const end = min(to, blockEnd);
          await partial(block, pos, end);
          pos = end;
        }
      }
    });
  }

  private setBlocks(from: bigint, to: bigint, state: BlockState): void {
    const first = this.block(from);
    this.map.set(first, this.block(to - 1n) - first + 1, state);
  }

  /** Holding `block`: writes `piece` at `from` inside it, copying the block up from beneath first if it is there. */
  private async writePartial(base: Next, block: number, from: bigint, piece: Uint8Array): Promise<void> {
    const state = this.map.get(block);
    if (state === BlockState.DATA) {
      await this.file.write(piece, from);
      return;
    }
    const start = this.start(block);
    const whole = new Uint8Array(Number(this.end(block) - start));
    if (state === BlockState.BASE) await base.pread(whole, start, 0);
    whole.set(piece, Number(from - start));
    await this.file.write(whole, start);
    this.map.set(block, 1, BlockState.DATA);
  }

  /** Holding the blocks of `[from, to)`: copies those still beneath into the overlay. */
  private async copyUp(base: Next, from: bigint, to: bigint): Promise<void> {
    const first = this.start(this.block(from));
    const last = this.end(this.block(to - 1n));
    for (const run of this.runs(first, last)) {
      if (run.state !== BlockState.BASE) continue;
      const chunk = COPY_CHUNK > this.bs ? COPY_CHUNK : this.bs;
      for (let pos = run.from; pos < run.to; pos += chunk) {
        const buf = new Uint8Array(Number(min(chunk, run.to - pos)));
        await base.pread(buf, pos, 0);
        await this.file.write(buf, pos);
        this.setBlocks(pos, pos + BigInt(buf.length), BlockState.DATA);
      }
    }
  }

  /**
   * With cow-on-cache, copies the blocks of the range into the overlay;
   * otherwise passes the request on for the parts still beneath, when the
   * disk beneath can cache.
   */
  async cache(base: Next, count: number, offset: bigint): Promise<void> {
    const end = offset + BigInt(count);
    if (this.settings.copyOnCache) {
      await this.locked(offset, end, () => this.copyUp(base, offset, end));
      return;
    }
    if (base.capabilities.canCache === 'none') return;
    for (const run of this.runs(offset, end)) {
      if (run.state === BlockState.BASE) await base.cache(toCount(run.to - run.from), run.from, 0);
    }
  }

  /** Blocks of the overlay are data or holes reading as zeroes; for the others, what the disk beneath says. */
  async extents(base: Next, count: number, offset: bigint, flags: Flags, extents: ExtentList): Promise<void> {
    const reqOne = flags & Flag.REQ_ONE;
    for (const run of this.runs(offset, offset + BigInt(count))) {
      const length = run.to - run.from;
      if (run.state === BlockState.DATA) {
        extents.add(run.from, length, ExtentType.DATA);
      } else if (run.state === BlockState.ZERO) {
        extents.add(run.from, length, ExtentType.HOLE | ExtentType.ZERO);
      } else {
        const beneath = new ExtentList(run.from, run.to);
        await base.extents(toCount(length), run.from, reqOne, beneath);
        for (const e of beneath.extents) extents.add(e.offset, e.length, e.type);
        if (beneath.covered < run.to) return;
      }
      if (reqOne) return;
    }
  }
}
