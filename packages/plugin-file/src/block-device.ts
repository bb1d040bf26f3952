import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BlockSize } from '@nbdkit-ts/core';

/** What sysfs tells about a block device. Fields it does not have are undefined. */
export interface BlockDeviceInfo {
  /** Size in bytes. */
  readonly size: bigint | undefined;
  /** The logical sector size: the unit the device reads and writes. */
  readonly logicalBlockSize: number | undefined;
  /** The physical sector size: below it the device reads, modifies and writes. */
  readonly physicalBlockSize: number | undefined;
  /** The optimal request size (a RAID stripe, for example); 0 when the device has none. */
  readonly optimalIoSize: number | undefined;
  readonly rotational: boolean | undefined;
}

function readNumber(path: string): bigint | undefined {
  try {
    return BigInt(readFileSync(path, 'latin1').trim());
  } catch {
    return undefined;
  }
}

/**
 * Reads /sys/dev/block/MAJOR:MINOR for the device number `rdev` (st_rdev as
 * glibc encodes it). A partition keeps its queue settings in its disk's directory.
 */
export function blockDeviceInfo(rdev: bigint): BlockDeviceInfo {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  const dir = `/sys/dev/block/${major}:${minor}`;
  const queue = existsSync(join(dir, 'partition')) ? join(dir, '..', 'queue') : join(dir, 'queue');
  const sectors = readNumber(join(dir, 'size'));
  const logical = readNumber(join(queue, 'logical_block_size'));
  const physical = readNumber(join(queue, 'physical_block_size'));
  const optimal = readNumber(join(queue, 'optimal_io_size'));
  const rotational = readNumber(join(queue, 'rotational'));
  return {
    // sysfs counts 512-byte units whatever the sector size.
    size: sectors === undefined ? undefined : sectors * 512n,
    logicalBlockSize: logical === undefined ? undefined : Number(logical),
    physicalBlockSize: physical === undefined ? undefined : Number(physical),
    optimalIoSize: optimal === undefined ? undefined : Number(optimal),
    rotational: rotational === undefined ? undefined : rotational !== 0n,
  };
}

const isPowerOfTwo = (n: number | undefined): n is number => n !== undefined && Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** The largest preferred block size NBD allows. */
const MAX_PREFERRED = 32 * 1024 * 1024;

/**
 * The block size constraints to advertise for a block device. Reads and
 * writes go through the page cache, so any alignment works (minimum 1); the
 * preferred size is what avoids read-modify-write below: the physical sector
 * or the optimal request size of the device, and at least a page.
 */
export function deviceBlockSize(info: BlockDeviceInfo): BlockSize {
  const sizes = [4096, info.physicalBlockSize, info.optimalIoSize].filter(isPowerOfTwo).filter((n) => n <= MAX_PREFERRED);
  return { minimum: 1, preferred: Math.max(...sizes), maximum: 0xffffffff };
}
