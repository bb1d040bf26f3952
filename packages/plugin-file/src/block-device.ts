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
  const rotational = readNumber(join(queue, 'rotational'));
  return {
    // sysfs counts 512-byte units whatever the sector size.
    size: sectors === undefined ? undefined : sectors * 512n,
    logicalBlockSize: logical === undefined ? undefined : Number(logical),
    physicalBlockSize: physical === undefined ? undefined : Number(physical),
    rotational: rotational === undefined ? undefined : rotational !== 0n,
  };
}

const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/**
 * The block size constraints to advertise for a block device: requests in
 * units of its logical sector size, preferably of its physical sector size
 * (at least a page), of any length. Undefined when sysfs does not say.
 */
export function deviceBlockSize(info: BlockDeviceInfo): BlockSize | undefined {
  const { logicalBlockSize: logical, physicalBlockSize: physical } = info;
  if (logical === undefined || !isPowerOfTwo(logical) || logical > 65536) return undefined;
  const preferred = Math.max(physical !== undefined && isPowerOfTwo(physical) ? physical : logical, 4096);
  if (preferred > 32 * 1024 * 1024) return undefined;
  return { minimum: logical, preferred, maximum: 0xffffffff };
}
