import { crc32 } from './crc32.js';
import { SECTOR, type FileRegion, type TableRegion } from './layout.js';
import { MBR_MAX_SECTORS, writeBootSignature, writeMbrEntry } from './mbr.js';

/** Bytes of a partition entry. */
const ENTRY_SIZE = 128;
/** The fewest entries a partition entry array has (UEFI); more partitions take more, 128 at a time. */
const MIN_ENTRIES = 128;
/**
 * Bytes of the header counted in its size and CRC: its 92 bytes of fields and
 * 4 of zeroes, as nbdkit writes it (UEFI allows 92 up to the sector size).
 * The rest of its sector is zeroes.
 */
const HEADER_SIZE = 96;
/** The MBR type byte of the protective MBR's one partition. */
const PROTECTIVE = 0xee;
/** Attribute bit 2, legacy BIOS bootable, set on the first partition. */
const LEGACY_BIOS_BOOTABLE = 4n;

/** A partition of a GPT: where its file lies in the disk, its GUIDs and its name. */
export interface GptPartition {
  readonly region: FileRegion;
  readonly typeGuid: Buffer;
  readonly uniqueGuid: Buffer;
  /** Written as the partition's name when it is ASCII and fits (35 characters at most); else no name. */
  readonly name: string;
}

/** Entries in the partition entry array for `count` partitions. */
const entryCount = (count: number) => Math.ceil(count / MIN_ENTRIES) * MIN_ENTRIES;

/** Sectors of a partition entry array for `count` partitions: 32 up to 128 partitions. */
export function gptEntrySectors(count: number): bigint {
  return BigInt(entryCount(count) * ENTRY_SIZE) / SECTOR;
}

/**
 * Fills in `primary` (the protective MBR, the primary header and the entry
 * array, from sector 0) and `secondary` (the backup entry array and the backup
 * header in the last sector of the disk) for `partitions`, in disk order.
 */
export function writeGpt(primary: TableRegion, secondary: TableRegion, partitions: readonly GptPartition[], diskGuid: Buffer, diskSize: bigint): void {
  writeProtectiveMbr(primary.data.subarray(0, Number(SECTOR)), diskSize);
  const entries = entryArray(partitions);
  const lastLba = diskSize / SECTOR - 1n;
  const entrySectors = gptEntrySectors(partitions.length);
  const fields = { diskGuid, entries, firstUsable: 2n + entrySectors, lastUsable: lastLba - entrySectors - 1n };
  const sector = Number(SECTOR);
  primary.data.set(entries, 2 * sector);
  header(primary.data.subarray(sector, 2 * sector), { ...fields, current: 1n, backup: lastLba, entriesLba: 2n });
  secondary.data.set(entries, 0);
  header(secondary.data.subarray(entries.length), { ...fields, current: lastLba, backup: 1n, entriesLba: lastLba - entrySectors });
}

/** One partition of type 0xEE over the whole disk, or as much of it as an MBR can say. */
function writeProtectiveMbr(mbr: Buffer, diskSize: bigint): void {
  const end = diskSize - 1n < MBR_MAX_SECTORS * SECTOR ? diskSize - 1n : MBR_MAX_SECTORS * SECTOR;
  writeMbrEntry(mbr, 0, { bootable: false, type: PROTECTIVE, start: SECTOR, length: end - SECTOR + 1n });
  writeBootSignature(mbr);
}

function entryArray(partitions: readonly GptPartition[]): Buffer {
  const array = Buffer.alloc(entryCount(partitions.length) * ENTRY_SIZE);
  partitions.forEach(({ region, typeGuid, uniqueGuid, name }, i) => {
    const entry = array.subarray(i * ENTRY_SIZE, (i + 1) * ENTRY_SIZE);
    entry.set(typeGuid, 0);
    entry.set(uniqueGuid, 16);
    entry.writeBigUInt64LE(region.start / SECTOR, 32);
    entry.writeBigUInt64LE((region.start + region.length - 1n) / SECTOR, 40);
    entry.writeBigUInt64LE(i === 0 ? LEGACY_BIOS_BOOTABLE : 0n, 48);
    if (name.length < 36 && /^\p{ASCII}*$/u.test(name)) entry.write(name, 56, 'utf16le');
  });
  return array;
}

interface HeaderFields {
  readonly diskGuid: Buffer;
  readonly entries: Buffer;
  readonly current: bigint;
  readonly backup: bigint;
  readonly firstUsable: bigint;
  readonly lastUsable: bigint;
  readonly entriesLba: bigint;
}

function header(out: Buffer, f: HeaderFields): void {
  out.write('EFI PART', 0, 'latin1');
  out.writeUInt32LE(0x0001_0000, 8);
  out.writeUInt32LE(HEADER_SIZE, 12);
  out.writeBigUInt64LE(f.current, 24);
  out.writeBigUInt64LE(f.backup, 32);
  out.writeBigUInt64LE(f.firstUsable, 40);
  out.writeBigUInt64LE(f.lastUsable, 48);
  out.set(f.diskGuid, 56);
  out.writeBigUInt64LE(f.entriesLba, 72);
  out.writeUInt32LE(f.entries.length / ENTRY_SIZE, 80);
  out.writeUInt32LE(ENTRY_SIZE, 84);
  out.writeUInt32LE(crc32(f.entries), 88);
  // The header's own CRC is computed over the header with this field zero, so last.
  out.writeUInt32LE(crc32(out.subarray(0, HEADER_SIZE)), 16);
}
