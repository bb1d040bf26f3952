import type { BlockSize, Capabilities } from '@nbdkit-ts/core';

/** The largest preferred block size a layer may report. */
const MAX_PREFERRED = 32 * 1024 * 1024;

/**
 * What the filter can do whatever the disk beneath can: write, trim and
 * zero (fast: whole blocks only change the map), flush and FUA (no-ops: the
 * overlay does not outlive the server), multi-conn (one overlay for every
 * connection), extents and cache. The overlay's block size is the
 * preferred request size, as in nbdkit.
 */
export function cowCapabilities(below: Capabilities, blockSize: number): Partial<Capabilities> {
  return {
    canWrite: true,
    canFlush: true,
    canTrim: true,
    canZero: 'native',
    canFastZero: true,
    canFua: 'native',
    canMultiConn: true,
    canExtents: true,
    canCache: 'native',
    blockSize: preferBlockSize(below.blockSize, Math.min(blockSize, MAX_PREFERRED)),
  };
}

function preferBlockSize(below: BlockSize | undefined, preferred: number): BlockSize {
  if (below === undefined) return { minimum: 1, preferred, maximum: 0xffffffff };
  if (below.maximum < preferred || below.preferred >= preferred) return below;
  return { ...below, preferred };
}
