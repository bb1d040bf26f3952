import { randomBytes } from 'node:crypto';

/** The largest seed `error-seed` takes. */
export const MAX_SEED = 0xffff_ffff;

/** A fresh seed from the system's random source. */
export function randomSeed(): number {
  return randomBytes(4).readUInt32LE(0);
}

/**
 * A small seeded generator of numbers in [0, 1) (mulberry32): the same seed
 * gives the same sequence, so a run with `error-seed` can be repeated.
 */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  }
}
