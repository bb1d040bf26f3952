import { randomBytes } from 'node:crypto';

/** The largest seed `error-seed` takes. */
export const MAX_SEED = 0xffff_ffff;

/** A fresh seed from the system's random source. */
export function randomSeed(): number {
  return randomBytes(4).readUInt32LE(0);
}
