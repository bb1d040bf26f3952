import { describe, expect, it } from 'vitest';
import { DataError, evaluate, type Image } from '../src/index.js';

const NO_VARIABLES = () => undefined;

/** The bytes of an image. */
function bytesOf(image: Image): Buffer {
  const buf = Buffer.alloc(Number(image.length));
  image.read(buf, 0n);
  return buf;
}

const b = (...parts: (string | number[] | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const zeroes = (n: number) => Buffer.alloc(n);

describe('evaluate', () => {
  it.each<[string, Buffer]>([
    ['', b()],
    ['0 1 0xcc 017', b([0, 1, 0xcc, 15])],
    ['le16:1 be16:1 le32:1 be64:0xffffffffffffffff', b([1, 0, 0, 1, 1, 0, 0, 0], [255, 255, 255, 255, 255, 255, 255, 255])],
    [' "hello" ( "\\"" "\\\\" )*2 "\\x01\\x02" "\\n" ', b('hello"\\"\\\x01\x02\n')],
    ['@4 "\\x00"', zeroes(5)],
    ['@+4 @-1 "\\x00"', zeroes(4)],
    ['1 @^4 "\\x00"', b([1], zeroes(4))],
    ['( @4 ( 0x21 )*4 )*4', Buffer.concat(Array(4).fill(b(zeroes(4), '!!!!')) as Buffer[])],
    ['( "Hello" @^8 )*2', b('Hello', zeroes(3), 'Hello', zeroes(3))],
    ['( @4 )*4 1', b(zeroes(16), [1])],
    ['1 (@2 2) (@3 3)', b([1, 0, 0, 2, 0, 0, 0, 3])],
    ['() ()*2 ( () )*0 ()*1*2*3 () -> \\a \\a*2[:0] \\a[:0]*2', b()],
    ['1*2*3*4', Buffer.alloc(24, 1)],
    ['"foo"*2*50', Buffer.from('foo'.repeat(100))],
    ['1*1000 @100 0*100', b(Buffer.alloc(100, 1), zeroes(100), Buffer.alloc(800, 1))],
    ['1*1000 @100 0*1000', b(Buffer.alloc(100, 1), zeroes(1000))],
    ['1*10 @0 (@5)', b(zeroes(5), Buffer.alloc(5, 1))],
    ['(0x31 0x32) -> \\a (0x35 0x36) -> \\b ( (0x33 0x34) -> \\a (0x37 0x38) -> \\c \\a \\a \\b \\c ) \\a \\b', b('343456781256')],
    ['1 -> \\1 ( \\1 ) -> \\t \\t ( 2 -> \\1 ) \\t ( 3 -> \\1 \\t ) 4 -> \\1 \\t ( \\1 ) -> \\t \\t', b([1, 1, 1, 1, 4])],
    ['"Hello"[3:] "Hello"[:2] "Hello"[1:2] "Hello"[:] "Hello"[99:99]', b('loHeeHello')],
    ['<( i=0; while :; do printf "%04d" $i; i=$((i+1)); done )[:10]', b('0000000100')],
    ['@32766 1*5 @65534 2*5 @32768 0*32768', b(zeroes(32766), [1, 1], zeroes(32768), [2, 2, 2])],
  ])('%j', (text, expected) => {
    expect(bytesOf(evaluate(text, NO_VARIABLES)).equals(expected)).toBe(true);
  });

  it.each<[string, bigint]>([
    ['@100', 100n],
    ['@+100 @-90', 100n],
    ['(@100) @0 (@50)', 100n],
    ['(@50) @200 (@100)', 300n],
    ['0 @^512 0', 513n],
    ['(0 @100) -> \\a (0 @200) -> \\b \\a @0 \\b', 200n],
    ['( 0x55 0xAA @0x200000000 @-2 0x55 0xAA ) -> \\1 \\1 * 4', 0x800000000n],
    ['@0x7ffffffffffffffe 1', (1n << 63n) - 1n],
  ])('%j is %i bytes long', (text, size) => {
    expect(evaluate(text, NO_VARIABLES).length).toBe(size);
  });

  it('keeps the bytes of a sparse image far apart, and the rest as holes', () => {
    const image = evaluate('( 0x55 0xAA @0x200000000 @-2 0x55 0xAA ) -> \\1 \\1 * 4', NO_VARIABLES);
    expect([...image.held()].length).toBe(8);
    const buf = Buffer.alloc(4);
    image.read(buf, 3n * 0x200000000n - 2n);
    expect([...buf]).toEqual([0x55, 0xaa, 0x55, 0xaa]);
  });

  it('substitutes variables as nested scopes, which may refer to other variables', () => {
    const vars: Record<string, string> = { a: ' 1 2 ', b: ' $c*2 ', c: ' 3 ' };
    expect([...bytesOf(evaluate(' $a $b $a[1:] ', (name) => vars[name]))]).toEqual([1, 2, 3, 3, 2]);
  });

  it.each([
    ['@-2', 1, '@-2 moves before the start (the offset is 0)'],
    ['@1 @^2 @-3', 8, '@-3 moves before the start (the offset is 2)'],
    ['@^0', 1, '@^0: the alignment must be at least 1'],
    ['0[2:]', 2, '[2:] is outside the 1 bytes of the expression before it'],
    ['"123"[1:0]', 6, '[1:0] is outside the 3 bytes'],
    ['\\a', 1, '\\a is not defined here'],
    ['( 0 -> \\a ) \\a', 13, '\\a is not defined here'],
    ['(0 -> \\a) -> \\b \\b \\a', 20, '\\a is not defined here'],
    ['</nonexistent/file', 1, '</nonexistent/file: ENOENT'],
    ['<( echo oops >&2; exit 3 )', 1, '<(...): the script failed (exit status 3): oops'],
    ['@0x7fffffffffffffff 1', 21, 'the data would end beyond 2^63-1 bytes'],
    ['$nothing', 1, '$nothing is not set (a parameter nothing= or an environment variable)'],
  ])('%j fails at character %i: %s', (text, character, message) => {
    expect(() => evaluate(text, NO_VARIABLES)).toThrow(new DataError('data=', character - 1, message).message.replace(message, ''));
    expect(() => evaluate(text, NO_VARIABLES)).toThrow(message);
  });

  it('names the variable an error is in, and refuses one that refers to itself', () => {
    const vars: Record<string, string> = { a: ' 1 $b ', b: ' 2 ) ', c: ' $c ' };
    expect(() => evaluate('$a', (name) => vars[name])).toThrow('$b: at character 4: ) without an opening (');
    expect(() => evaluate('0 $c', (name) => vars[name])).toThrow('$c: at character 2: $c refers to itself');
  });
});
