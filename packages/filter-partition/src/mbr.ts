import { nbdError, type Next } from '@nbdkit-ts/core';
import type { Window } from '@nbdkit-ts/filter-offset';
import { readAt, SECTOR_SIZE } from './sector.js';

/** An entry of an MBR or EBR partition table. */
interface MbrEntry {
  /** The partition type byte (0: unused). */
  readonly type: number;
  /** First sector: from the start of the disk (MBR), of the EBR (a logical partition) or of the extended partition (a link). */
  readonly start: bigint;
  /** Number of sectors. */
  readonly sectors: bigint;
}

/** Entry `i` (0 to 3) of the partition table in the boot sector `sector`. */
function entry(sector: Buffer, i: number): MbrEntry {
  const at = 0x1be + i * 16;
  return { type: sector.readUInt8(at + 4), start: BigInt(sector.readUInt32LE(at + 8)), sectors: BigInt(sector.readUInt32LE(at + 12)) };
}

/** The type bytes of extended partitions that Linux follows (DOS, Windows LBA, Linux). */
const isExtended = (type: number) => type === 0x05 || type === 0x0f || type === 0x85;

/**
 * Finds partition `partition` (counting from 1) of the MBR `mbr`, on a disk
 * `next` of `size` bytes: 1 to 4 are the primary partitions (an unused or
 * extended entry is no partition), 5 and up the logical partitions, in the
 * order of the chain of extended boot records.
 */
export async function findMbrPartition(next: Next, size: bigint, mbr: Buffer, partition: number): Promise<Window> {
  if (partition <= 4) {
    const e = entry(mbr, partition - 1);
    if (e.sectors > 0n && e.type !== 0 && !isExtended(e.type)) return { offset: e.start * SECTOR_SIZE, size: e.sectors * SECTOR_SIZE };
    throw nbdError('EINVAL', `partition: MBR partition ${partition} not found`);
  }
  const extended = [0, 1, 2, 3].map((i) => entry(mbr, i)).find((e) => e.sectors > 0n && isExtended(e.type));
  if (extended === undefined) {
    throw nbdError('EINVAL', `partition: partition=${partition} is a logical partition, but there is no extended partition in the MBR`);
  }
  const extendedEnd = (extended.start + extended.sectors) * SECTOR_SIZE;
  // Each link must point further into the disk than the one before, so the walk ends.
  let ebr = extended.start * SECTOR_SIZE;
  for (let n = 5; ; n++) {
    if (ebr < SECTOR_SIZE || ebr >= size - SECTOR_SIZE) {
      throw nbdError('EINVAL', `partition: invalid EBR chain: an extended boot record at byte ${ebr} is outside the disk (${size} bytes)`);
    }
    const sector = await readAt(next, ebr, Number(SECTOR_SIZE));
    if (n === partition) {
      // The first entry is the logical partition, its start relative to this EBR.
      const e = entry(sector, 0);
      const offset = ebr + e.start * SECTOR_SIZE;
      const length = e.sectors * SECTOR_SIZE;
      if (offset <= ebr || offset + length > extendedEnd) {
        throw nbdError(
          'EINVAL',
          `partition: logical partition ${partition} (${length} bytes at byte ${offset}) must start after its extended boot record (byte ${ebr}) and end within the extended partition (byte ${extendedEnd})`,
        );
      }
      return { offset, size: length };
    }
    // The second entry links to the next EBR, its start relative to the extended partition; all zero ends the chain.
    const link = entry(sector, 1);
    if (link.start === 0n && link.sectors === 0n) break;
    const following = (extended.start + link.start) * SECTOR_SIZE;
    if (following <= ebr) {
      throw nbdError('EINVAL', `partition: invalid EBR chain: the extended boot record at byte ${ebr} links back to byte ${following}`);
    }
    ebr = following;
  }
  throw nbdError('EINVAL', `partition: MBR partition ${partition} not found`);
}
