import type { MaybePromise } from '@nbdkit-ts/core';

/**
 * A run of a file's logical blocks with one kind of mapping: `physical` is 0
 * for a hole, otherwise the first physical block (the run is contiguous on
 * disk); `unwritten` marks a preallocated run that reads as zeroes.
 */
export interface Mapping {
  readonly physical: number;
  readonly length: number;
  readonly unwritten: boolean;
}

/**
 * How a file's logical blocks map to physical blocks: an extent tree or
 * indirect blocks. Lookups never wait on the allocation lock; `map` is
 * called under it and makes the new mapping visible only once its metadata
 * is in place (the data was written before).
 */
export interface BlockMap {
  /** The mapping of logical block `lblk`, over at most `max` blocks (at least one). */
  lookup(lblk: number, max: number): MaybePromise<Mapping>;
  /**
   * Maps `count` logical blocks from `lblk`, all holes or unwritten, to the
   * written physical blocks from `physical`. Returns the number of metadata
   * blocks it allocated (to be added to `i_blocks`).
   */
  map(lblk: number, count: number, physical: number): Promise<number>;
  /** The largest run `map` takes at once. */
  readonly maxMapRun: number;
}
