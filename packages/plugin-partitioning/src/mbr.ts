import { SECTOR, type FileRegion, type TableRegion } from './layout.js';

/** The largest sector number or count an MBR partition entry holds. */
export const MBR_MAX_SECTORS = 0xffff_ffffn;

/** The MBR type byte of an extended partition (LBA addressed), and of the links between EBRs. */
const EXTENDED = 0x0f;
/** Where the four partition entries of an MBR or EBR begin. */
const ENTRIES = 0x1be;

/** A partition of an MBR: where its file lies in the disk, and its type byte. */
export interface MbrPartition {
  readonly region: FileRegion;
  readonly type: number;
}

/** A logical partition, in the extended partition: a partition and the EBR just before it. */
export interface LogicalPartition extends MbrPartition {
  readonly ebr: TableRegion;
}

/** Whole sectors to hold `bytes`. */
const sectors = (bytes: bigint) => (bytes + SECTOR - 1n) / SECTOR;

/**
 * Writes MBR partition entry number `index` (0 to 3) of `record` (an MBR or
 * an EBR): `length` bytes (rounded up to whole sectors) from byte `start` (a
 * sector boundary). The CHS fields say "beyond CHS", so clients use the LBA
 * fields, as they do for any disk of today.
 */
export function writeMbrEntry(record: Buffer, index: number, entry: { bootable: boolean; type: number; start: bigint; length: bigint }): void {
  const at = ENTRIES + 16 * index;
  const beyondChs = [0xfe, 0xff, 0xff];
  record[at] = entry.bootable ? 0x80 : 0;
  record.set(beyondChs, at + 1);
  record[at + 4] = entry.type;
  record.set(beyondChs, at + 5);
  record.writeUInt32LE(Number(entry.start / SECTOR), at + 8);
  record.writeUInt32LE(Number(sectors(entry.length)), at + 12);
}

/** Puts the boot signature 0x55 0xAA at the end of an MBR or EBR. */
export function writeBootSignature(record: Buffer): void {
  record[0x1fe] = 0x55;
  record[0x1ff] = 0xaa;
}

/**
 * Fills in `mbr` for `primaries` (up to four, in disk order, the first one
 * bootable) and `logicals`. With logical partitions, there are three primary
 * partitions and the fourth entry is an extended partition from the first EBR
 * to the end of the disk. Each logical partition is described by its EBR,
 * which also links to the next EBR.
 */
export function writeMbr(mbr: Buffer, primaries: readonly MbrPartition[], logicals: readonly LogicalPartition[], diskSize: bigint): void {
  writeBootSignature(mbr);
  primaries.forEach(({ region, type }, i) => writeMbrEntry(mbr, i, { bootable: i === 0, type, start: region.start, length: region.length }));
  const extended = logicals[0]?.ebr;
  if (extended === undefined) return;
  writeMbrEntry(mbr, 3, { bootable: false, type: EXTENDED, start: extended.start, length: diskSize - extended.start });
  logicals.forEach(({ region, type, ebr }, k) => {
    writeBootSignature(ebr.data);
    // The partition's sectors count from its EBR; the link to the next EBR counts from the first EBR.
    writeMbrEntry(ebr.data, 0, { bootable: false, type, start: region.start - ebr.start, length: region.length });
    const next = logicals[k + 1];
    if (next === undefined) return;
    const nextEnd = next.region.start + next.region.length;
    writeMbrEntry(ebr.data, 1, { bootable: false, type: EXTENDED, start: next.ebr.start - extended.start, length: nextEnd - next.ebr.start });
  });
}
