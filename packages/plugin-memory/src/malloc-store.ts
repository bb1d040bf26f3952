import { ExtentType, type ExtentList } from '@nbdkit-ts/core';
import { Chunking } from './chunking.js';
import type { Store } from './store.js';

/** Memory is taken in blocks of 1 GiB, below the largest buffer Node.js makes. */
const blocks = new Chunking(30);

/**
 * A disk in memory taken whole at startup (`allocator=malloc`): no page
 * table on the data path, no sparseness. The whole disk is reported as data.
 */
export class MallocStore implements Store {
  private readonly blocks: Uint8Array[] = [];

  /** Throws a RangeError when the memory cannot be had. */
  constructor(readonly size: bigint) {
    for (let at = 0n; at < size; at += BigInt(blocks.size)) {
      const left = size - at;
      this.blocks.push(new Uint8Array(left < blocks.size ? Number(left) : blocks.size));
    }
  }

  read(buf: Uint8Array, offset: bigint): void {
    blocks.each(offset, buf.length, (n, within, length, done) => {
      buf.set((this.blocks[n] as Uint8Array).subarray(within, within + length), done);
    });
  }

  write(buf: Uint8Array, offset: bigint): void {
    blocks.each(offset, buf.length, (n, within, length, done) => {
      (this.blocks[n] as Uint8Array).set(buf.subarray(done, done + length), within);
    });
  }

  zero(count: number, offset: bigint): void {
    blocks.each(offset, count, (n, within, length) => {
      (this.blocks[n] as Uint8Array).fill(0, within, within + length);
    });
  }

  extents(count: number, offset: bigint, _flags: number, extents: ExtentList): void {
    extents.add(offset, BigInt(count), ExtentType.DATA);
  }
}
