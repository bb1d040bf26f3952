/**
 * A small seeded generator of numbers in [0, 1) (mulberry32): the same seed
 * gives the same sequence, so a run, a test's data or a failing case can be
 * made again from its seed. Fast and evenly spread, but predictable: not for
 * secrets.
 *
 * @param seed The seed; its low 32 bits are used (`seed >>> 0`), so 0 to
 *   4294967295 give distinct sequences.
 * @returns A function that gives the next number of the sequence at each call.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
