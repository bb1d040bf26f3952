import { describe, expect, it } from 'vitest';
import { flagWords, parseExports, parseExtents } from '../dist/script-output.js';
import { Flag } from '@nbdkit-ts/core';

describe("reading a script's output", () => {
  it.each([
    ['', []],
    ['NAMES\n', []],
    ['\n', [{ name: '' }]],
    ['a\nb\n', [{ name: 'a' }, { name: 'b' }]],
    ['NAMES\na\nb', [{ name: 'a' }, { name: 'b' }]],
    ['INTERLEAVED\na\nfirst\nb\n\n', [{ name: 'a', description: 'first' }, { name: 'b' }]],
    ['INTERLEAVED\na\n', [{ name: 'a' }]],
    ['NAMES+DESCRIPTIONS\na\nb\nfirst\nsecond\n', [{ name: 'a', description: 'first' }, { name: 'b', description: 'second' }]],
  ])('exports %j', (output, exports) => {
    expect(parseExports(output)).toEqual(exports);
  });

  it('extents: sizes with units, types as numbers or words, none meaning data', () => {
    expect(parseExtents('0 1M\n1M\t2M hole,zero\n3M 512 2\n3146240 1s zero\n')).toEqual([
      { offset: 0n, length: 1048576n, type: 0 },
      { offset: 1048576n, length: 2097152n, type: 3 },
      { offset: 3145728n, length: 512n, type: 2 },
      { offset: 3146240n, length: 512n, type: 2 },
    ]);
  });

  it.each(['0\n', 'x 1M\n', '0 lots\n', '\n'])('extents: %j is refused with EIO, naming the line', (output) => {
    expect(() => parseExtents(output)).toThrow(/extents: cannot parse/);
  });

  it('flags as words', () => {
    expect(flagWords(0)).toBe('');
    expect(flagWords(Flag.FUA | Flag.MAY_TRIM | Flag.FAST_ZERO)).toBe('fua,may_trim,fast');
    expect(flagWords(Flag.REQ_ONE)).toBe('req_one');
  });
});
