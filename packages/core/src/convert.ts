import { nbdError } from './errors.js';

/** The largest offset on the wire (u64). */
export const MAX_U64 = (1n << 64n) - 1n;
/** The largest count on the wire (u32). */
export const MAX_U32 = 0xffff_ffff;

/**
 * Converts a bigint offset or size to a number, throwing EOVERFLOW when it is
 * above 2^53 - 1 and would silently round.
 */
export function toSafeNumber(value: bigint, what = 'value'): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw nbdError('EOVERFLOW', `${what} ${value} does not fit in a safe integer`);
  }
  return Number(value);
}

/** Converts a count (a u32) to bigint, throwing EINVAL when it is not one. */
export function countToBigint(count: number): bigint {
  if (!Number.isInteger(count) || count < 0 || count > MAX_U32) {
    throw nbdError('EINVAL', `count ${count} is not an unsigned 32-bit integer`);
  }
  return BigInt(count);
}

/** Converts a bigint length to a count, throwing EINVAL when it is not a u32. */
export function toCount(value: bigint, what = 'count'): number {
  if (value < 0n || value > BigInt(MAX_U32)) throw nbdError('EINVAL', `${what} ${value} is not an unsigned 32-bit integer`);
  return Number(value);
}
