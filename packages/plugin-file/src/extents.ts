import { ExtentType, Flag, nbdError, type ExtentList, type Flags } from '@nbdkit-ts/core';
import type { NativeFileOps } from './native.js';

const HOLE = ExtentType.HOLE | ExtentType.ZERO;

/**
 * Whether lseek SEEK_HOLE works on this file: some file systems and block
 * devices refuse it (EINVAL), and then all is reported as data.
 */
export function canSeekHoles(native: NativeFileOps, fd: number): boolean {
  return typeof native.seekHole(fd, 0) === 'number';
}

/**
 * Reports holes (HOLE|ZERO) and data (0) of `count` bytes at `offset` from
 * lseek SEEK_DATA / SEEK_HOLE. With REQ_ONE, stops after the first extent.
 * The file position moves; reads and writes name their offsets, so nothing
 * depends on it.
 */
export function seekExtents(native: NativeFileOps, fd: number, count: number, offset: number, flags: Flags, extents: ExtentList): void {
  const one = (flags & Flag.REQ_ONE) !== 0;
  const end = offset + count;
  while (offset < end) {
    const data = native.seekData(fd, offset);
    // ENXIO: no data after offset, the rest of the file is a hole.
    const dataAt = data === 'ENXIO' ? end : data;
    if (typeof dataAt === 'string') throw nbdError(dataAt, `extents: lseek(SEEK_DATA) at ${offset}: ${dataAt}`);
    if (dataAt > offset) {
      extents.add(BigInt(offset), BigInt(dataAt - offset), HOLE);
      if (one) return;
      offset = dataAt;
      if (offset >= end) return;
    }
    const holeAt = native.seekHole(fd, offset);
    if (typeof holeAt === 'string') throw nbdError(holeAt, `extents: lseek(SEEK_HOLE) at ${offset}: ${holeAt}`);
    extents.add(BigInt(offset), BigInt(holeAt - offset), ExtentType.DATA);
    if (one) return;
    offset = holeAt;
  }
}
