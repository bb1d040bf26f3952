import type { Next } from '@nbdkit-ts/core';

/** Partition tables count in sectors of 512 bytes (disks with 4K sectors are not supported, as in nbdkit). */
export const SECTOR_SIZE = 512n;

/** Reads `count` bytes of `next` at `offset` into a new buffer. */
export async function readAt(next: Next, offset: bigint, count: number): Promise<Buffer> {
  const buf = Buffer.alloc(count);
  await next.pread(buf, offset, 0);
  return buf;
}
