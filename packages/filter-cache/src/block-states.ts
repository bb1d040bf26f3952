/** What the cache holds of a block. */
export const State = {
  /** Not in the cache: the disk beneath has it. */
  ABSENT: 0,
  /** In the cache, the same as beneath. */
  CLEAN: 1,
  /** In the cache, newer than beneath: to be written back. */
  DIRTY: 2,
} as const;

/** One of {@link State}. */
export type State = (typeof State)[keyof typeof State];

const STATE_BITS = 3;
/** Set when a block is used, cleared by the reclaim's clock hand. */
const REFERENCED = 4;

/**
 * The state of every block of the disk, one byte per block: a 1 TiB disk
 * costs 1 MiB with 1 MiB blocks. Counts the blocks cached and dirty.
 */
export class BlockStates {
  private readonly bytes: Uint8Array;
  /** Blocks in the cache (clean or dirty). */
  cached = 0;
  /** Dirty blocks. */
  dirty = 0;

  constructor(readonly blocks: number) {
    this.bytes = new Uint8Array(blocks);
  }

  get(block: number): State {
    return ((this.bytes[block] ?? 0) & STATE_BITS) as State;
  }

  /** Sets the state of `block` (whether it was used stays as it was). */
  set(block: number, state: State): void {
    const b = this.bytes[block] ?? 0;
    const before = b & STATE_BITS;
    this.cached += Number(state !== State.ABSENT) - Number(before !== State.ABSENT);
    this.dirty += Number(state === State.DIRTY) - Number(before === State.DIRTY);
    this.bytes[block] = state | (state === State.ABSENT ? 0 : b & REFERENCED);
  }

  /** Marks `block` used, so the reclaim passes it over once. */
  touch(block: number): void {
    if (this.get(block) !== State.ABSENT) this.bytes[block] = (this.bytes[block] ?? 0) | REFERENCED;
  }

  /** Whether `block` was used since the clock hand last passed, clearing the mark. */
  takeReference(block: number): boolean {
    const b = this.bytes[block] ?? 0;
    this.bytes[block] = b & ~REFERENCED;
    return (b & REFERENCED) !== 0;
  }

  /** The dirty blocks, in order. */
  *dirtyBlocks(): Generator<number> {
    for (let block = 0; this.dirty > 0 && block < this.blocks; block++) if (this.get(block) === State.DIRTY) yield block;
  }
}
