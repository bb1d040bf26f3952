import { parseInteger, type ParamSpec } from '@nbdkit-ts/core';

/** The word sizes the filter accepts, in bits. */
const WORD_BITS = [8, 16, 32, 64];

/** The parameter of the filter, with nbdkit's name. */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'swab-bits', description: 'size of the words whose bytes are swapped: 16 (the default), 32 or 64; 8 swaps nothing' },
];

/** The filter's configuration: 16-bit words by default. */
export class Settings {
  /** The size of a word, in bytes (1: nothing is swapped). */
  word = 2;

  /** Takes `swab-bits=N`; throws a message naming the parameter when N is not a word size. The last one given wins. */
  config(key: string, value: string): void {
    const bits = parseInteger(key, value, 8, 64);
    if (!WORD_BITS.includes(bits)) throw new Error(`${key}=${value}: expected 8, 16, 32 or 64`);
    this.word = bits / 8;
  }
}
