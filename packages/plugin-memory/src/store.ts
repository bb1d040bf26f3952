import type { ExtentList, Flags } from '@nbdkit-ts/core';

/**
 * The bytes of a disk held in memory, shared by every connection. Every call
 * is synchronous, and the caller keeps requests within `size`.
 */
export interface Store {
  /** Size of the disk in bytes. */
  readonly size: bigint;
  /** Fills `buf` with the bytes at `offset`. */
  read(buf: Uint8Array, offset: bigint): void;
  /** Stores `buf` at `offset`. */
  write(buf: Uint8Array, offset: bigint): void;
  /** Makes `count` bytes at `offset` read as zeroes, releasing the memory it can. */
  zero(count: number, offset: bigint): void;
  /** Reports which parts of `count` bytes at `offset` hold memory (data) and which do not (holes). */
  extents(count: number, offset: bigint, flags: Flags, extents: ExtentList): void;
}
