import { nbdError, type Next } from '@nbdkit-ts/core';
import type { Window } from '@nbdkit-ts/filter-offset';
import { readAt, SECTOR_SIZE } from './sector.js';

/** The smallest size of a GPT partition entry. */
const ENTRY_SIZE = 128;

/**
 * Finds partition `partition` (counting from 1) of the GPT whose header is
 * `header` (LBA 1), on a disk `next` of `size` bytes: entry `partition` of the
 * partition array, which is no partition when its type GUID is all zeroes.
 */
export async function findGptPartition(next: Next, size: bigint, header: Buffer, partition: number): Promise<Window> {
  const arrayStart = header.readBigUInt64LE(72) * SECTOR_SIZE;
  const entries = header.readUInt32LE(80);
  const entrySize = header.readUInt32LE(84);
  if (partition > entries) {
    throw nbdError('EINVAL', `partition: GPT partition ${partition} not found: the partition array has ${entries} entries`);
  }
  if (entrySize < ENTRY_SIZE) {
    throw nbdError('EINVAL', `partition: the GPT header says partition entries have ${entrySize} bytes; they have at least ${ENTRY_SIZE}`);
  }
  const arrayEnd = arrayStart + BigInt(entries) * BigInt(entrySize);
  if (arrayStart < 2n * SECTOR_SIZE || arrayEnd > size) {
    throw nbdError('EINVAL', `partition: the GPT partition array (bytes ${arrayStart} to ${arrayEnd}) is not within the disk (${size} bytes)`);
  }
  const entry = await readAt(next, arrayStart + BigInt(partition - 1) * BigInt(entrySize), ENTRY_SIZE);
  if (entry.subarray(0, 16).every((b) => b === 0)) throw nbdError('EINVAL', `partition: GPT partition ${partition} not found`);
  const first = entry.readBigUInt64LE(32);
  const last = entry.readBigUInt64LE(40);
  if (last < first) throw nbdError('EINVAL', `partition: GPT partition ${partition} ends (LBA ${last}) before it starts (LBA ${first})`);
  return { offset: first * SECTOR_SIZE, size: (last - first + 1n) * SECTOR_SIZE };
}
