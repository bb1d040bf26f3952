import { nbdError, type Next } from '@nbdkit-ts/core';
import type { Window } from '@nbdkit-ts/filter-offset';
import { findGptPartition } from './gpt.js';
import { findMbrPartition } from './mbr.js';
import { readAt, SECTOR_SIZE } from './sector.js';

/** A partition found in the partition table of a disk. */
export interface FoundPartition {
  /** Where it lies on the disk. */
  readonly window: Window;
  /** The kind of partition table it was found in. */
  readonly table: 'GPT' | 'MBR';
}

/** A GPT needs its header, two copies of a 16 KiB partition array and the protective MBR: 34 sectors at each end. */
const GPT_MINIMUM = 2n * 34n * SECTOR_SIZE;

/**
 * Reads the partition table of `next` and finds partition `partition`
 * (counting from 1) in it: a GPT when LBA 1 has the GPT signature (and the
 * disk is large enough for one), else an MBR when LBA 0 has the boot
 * signature. Throws EINVAL, with a message saying why, when the disk has no
 * partition table, no such partition, or the partition lies outside the disk.
 */
export async function findPartition(next: Next, partition: number): Promise<FoundPartition> {
  const size = next.capabilities.size;
  if (size < 2n * SECTOR_SIZE) {
    throw nbdError('EINVAL', `partition: the disk (${size} bytes) is too small to have a partition table`);
  }
  const lba01 = await readAt(next, 0n, Number(2n * SECTOR_SIZE));
  const header = lba01.subarray(Number(SECTOR_SIZE));
  let found: FoundPartition;
  if (size >= GPT_MINIMUM && header.subarray(0, 8).toString('latin1') === 'EFI PART') {
    found = { window: await findGptPartition(next, size, header, partition), table: 'GPT' };
  } else if (lba01.readUInt16LE(0x1fe) === 0xaa55) {
    found = { window: await findMbrPartition(next, size, lba01, partition), table: 'MBR' };
  } else {
    throw nbdError('EINVAL', 'partition: the disk has no partition table: no GPT signature in LBA 1, no MBR boot signature (55 AA) in LBA 0');
  }
  const { offset, size: length } = found.window;
  if (offset + length > size) {
    throw nbdError('EINVAL', `partition: ${found.table} partition ${partition} (${length} bytes at byte ${offset}) is outside the disk (${size} bytes)`);
  }
  return found;
}
