import { describe, expect, it } from 'vitest';
import * as core from '@nbdkit-ts/core';
import { seededRandom } from '@nbdkit-ts/testing';

/** The first numbers of a sequence, as whole numbers (times 2^32). */
const first = (seed: number, n = 3) => {
  const next = seededRandom(seed);
  return Array.from({ length: n }, () => next() * 2 ** 32);
};

describe('seededRandom', () => {
  it("is core's", () => {
    expect(seededRandom).toBe(core.seededRandom);
  });

  it('gives the sequences it gave before it moved to core (mulberry32), so recorded seeds still make the same data', () => {
    expect(first(0)).toEqual([1144304738, 1416247, 958946056]);
    expect(first(7)).toEqual([50271532, 266108690, 4195786334]);
    expect(first(0xffff_ffff)).toEqual([3850105811, 813802916, 3073704848]);
  });

  it('takes the low 32 bits of the seed, and gives numbers in [0, 1)', () => {
    expect(first(2 ** 32 + 7)).toEqual(first(7));
    expect(first(-1)).toEqual(first(0xffff_ffff));
    const next = seededRandom(42);
    for (let i = 0; i < 10_000; i++) {
      const x = next();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});
