import { gptEntrySectors, writeGpt } from './gpt.js';
import { Layout, MAX_ALIGNMENT, SECTOR } from './layout.js';
import { MBR_MAX_SECTORS, writeMbr, type LogicalPartition, type MbrPartition } from './mbr.js';
import type { PartitionFile } from './partition-file.js';

/** The kinds of partition table. */
export type PartitionType = 'mbr' | 'gpt';

/** Room kept for the padding of the partitions when choosing MBR by the files' sizes, as nbdkit keeps it. */
const MBR_PADDING_MARGIN = 5n * MAX_ALIGNMENT;
/** The largest export NBD can carry (a size is a signed 64-bit number in nbdkit and most clients). */
const MAX_DISK_SIZE = (1n << 63n) - 1n;

/**
 * The partition table to use when `partition-type` is not given, as nbdkit
 * chooses it: GPT for more than four files or for files too large for an MBR
 * altogether, otherwise MBR, which every client understands.
 */
export function defaultPartitionType(files: readonly PartitionFile[]): PartitionType {
  const total = files.reduce((sum, f) => sum + f.size, 0n);
  return files.length > 4 || total > MBR_MAX_SECTORS * SECTOR - MBR_PADDING_MARGIN ? 'gpt' : 'mbr';
}

/**
 * Lays out the virtual disk: the partition table, then each file at its
 * alignment and padded to whole sectors (with an EBR before each logical
 * partition of an MBR with more than four), then for GPT the backup table; and
 * fills in the tables. Throws when the disk is too large for the table or for
 * NBD.
 */
export function createDiskLayout(files: readonly PartitionFile[], type: PartitionType, diskGuid: Buffer): Layout {
  const layout = new Layout();
  if (type === 'mbr') {
    const mbr = layout.appendTable('MBR', Buffer.alloc(Number(SECTOR)));
    const primaries: MbrPartition[] = [];
    const logicals: LogicalPartition[] = [];
    files.forEach((f, i) => {
      if (files.length <= 4 || i < 3) {
        primaries.push({ region: layout.appendFile(i, f.size, f.alignment), type: f.mbrId });
      } else {
        const ebr = layout.appendTable(`EBR of partition ${i + 2}`, Buffer.alloc(Number(SECTOR)));
        logicals.push({ ebr, region: layout.appendFile(i, f.size, f.alignment), type: f.mbrId });
      }
    });
    if (layout.size > MBR_MAX_SECTORS * SECTOR) {
      throw new Error(`partition-type=mbr: the disk would be ${layout.size} bytes, but an MBR addresses at most 2^32 - 1 sectors of 512 bytes (about 2 TiB): use partition-type=gpt`);
    }
    writeMbr(mbr.data, primaries, logicals, layout.size);
  } else {
    const entrySectors = gptEntrySectors(files.length);
    const primary = layout.appendTable('primary GPT', Buffer.alloc(Number((2n + entrySectors) * SECTOR)));
    const partitions = files.map((f, i) => ({ region: layout.appendFile(i, f.size, f.alignment), typeGuid: f.typeGuid, uniqueGuid: f.uniqueGuid, name: f.name }));
    const secondary = layout.appendTable('backup GPT', Buffer.alloc(Number((entrySectors + 1n) * SECTOR)));
    if (layout.size > MAX_DISK_SIZE) throw new Error(`the files make a disk of ${layout.size} bytes, more than an NBD export can be (2^63 - 1 bytes)`);
    writeGpt(primary, secondary, partitions, diskGuid, layout.size);
  }
  return layout;
}
