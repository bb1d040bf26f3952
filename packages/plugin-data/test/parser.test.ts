import { seededRandom } from '@nbdkit-ts/testing';
import { describe, expect, it } from 'vitest';
import { DataError, parse } from '../src/index.js';

/** The error `parse` throws for `text`. */
function parseError(text: string): DataError {
  try {
    parse('data=', text);
  } catch (e) {
    if (e instanceof DataError) return e;
    throw e;
  }
  throw new Error(`${JSON.stringify(text)} parsed`);
}

describe('parse', () => {
  it('reads bytes, words, strings, offsets and operators into expressions', () => {
    expect(parse('data=', ' 1 0x1f 017 le16:0x102 be32:1 "a\\x41\\101\\n" # comment\n @0x10 @+2 @-1 @^512 ')).toEqual([
      { kind: 'bytes', pos: 1, bytes: Uint8Array.of(1) },
      { kind: 'bytes', pos: 3, bytes: Uint8Array.of(0x1f) },
      { kind: 'bytes', pos: 8, bytes: Uint8Array.of(0o17) },
      { kind: 'bytes', pos: 12, bytes: Uint8Array.of(2, 1) },
      { kind: 'bytes', pos: 23, bytes: Uint8Array.of(0, 0, 0, 1) },
      { kind: 'bytes', pos: 30, bytes: Uint8Array.of(0x61, 0x41, 0x41, 10) },
      { kind: 'offset', pos: 55, mode: '@', value: 16n },
      { kind: 'offset', pos: 61, mode: '+', value: 2n },
      { kind: 'offset', pos: 65, mode: '-', value: 1n },
      { kind: 'offset', pos: 69, mode: '^', value: 512n },
    ]);
    expect(parse('data=', '( 1 $v )*2[1:] -> \\a-1 \\a-1 </dev/null <(echo (x))[:3]')).toEqual([
      {
        kind: 'assign',
        pos: 15,
        name: 'a-1',
        expr: {
          kind: 'slice',
          pos: 10,
          start: 1n,
          end: undefined,
          expr: {
            kind: 'repeat',
            pos: 8,
            count: 2n,
            expr: {
              kind: 'group',
              pos: 0,
              body: [
                { kind: 'bytes', pos: 2, bytes: Uint8Array.of(1) },
                { kind: 'variable', pos: 4, name: 'v' },
              ],
            },
          },
        },
      },
      { kind: 'name', pos: 23, name: 'a-1' },
      { kind: 'file', pos: 28, path: '/dev/null' },
      { kind: 'slice', pos: 50, start: undefined, end: 3n, expr: { kind: 'script', pos: 39, script: 'echo (x)' } },
    ]);
  });

  it.each([
    ['256', 1, '256 is not a byte (0 to 255)'],
    ['0400', 1, '256 is not a byte'],
    ['1 0x', 3, '"0x" is not a number'],
    ['08', 1, '"08" is not a number'],
    ['-1', 1, 'unexpected "-"'],
    ['be1', 1, 'unexpected "b"'],
    ['le32:', 6, 'expected a number'],
    ['le16:0x10000', 1, '65536 does not fit in 16 bits'],
    ['be64:0x10000000000000000', 1, 'does not fit in 64 bits'],
    ['1 (2 (3)', 3, '( without its closing )'],
    ['1 )', 3, ') without an opening ('],
    ['"abc', 1, 'string without its closing "'],
    ['"\\x"', 2, '\\x needs one or two hexadecimal digits'],
    ['"\\400"', 2, '\\400 is more than a byte'],
    ['*2', 1, '* needs an expression before it'],
    ['1 @2*2', 5, '* needs an expression before it'],
    ['0*', 3, 'expected a number after *'],
    ['0*-1', 3, 'unexpected "-"'],
    ['0[2]', 4, 'expected : in [START:END]'],
    ['0[:2', 5, 'expected ] closing [START:END]'],
    ['@', 2, 'expected a number'],
    ['@^', 3, 'expected a number'],
    ['<', 2, 'expected a file name after <'],
    ['<(ls', 1, '<( without its closing )'],
    ['\\', 2, 'expected a name'],
    ['$', 2, 'expected a variable name after $'],
    ['1 -> 2', 6, 'expected a \\NAME after ->'],
    ['¢', 1, 'unexpected "¢"'],
  ])('refuses %j at character %i: %s', (text, character, message) => {
    const e = parseError(text);
    expect(e.position + 1).toBe(character);
    expect(e.message).toBe(`data=: at character ${character}: ${e.message.replace(/^data=: at character \d+: /, '')}`);
    expect(e.message).toContain(message);
  });

  it('answers any text with expressions or a DataError, never anything else', () => {
    const random = seededRandom(19);
    const alphabet = ['0', '1', '9', '0x', 'ff', '(', ')', '*', '[', ']', ':', '@', '+', '-', '^', '"', '\\', 'a', '$', '#', ' ', '\n', 'le16:', '->', '<', '<(', 'x'];
    for (let i = 0; i < 20000; i++) {
      const text = Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      try {
        parse('data=', text);
      } catch (e) {
        if (!(e instanceof DataError)) throw new Error(`${JSON.stringify(text)}: ${String(e)}`, { cause: e });
        expect(e.position, text).toBeLessThanOrEqual(text.length);
      }
    }
  });
});
