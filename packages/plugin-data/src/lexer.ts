import type { OffsetMode } from './ast.js';
import { DataError } from './data-error.js';
import { parseNumber } from './numbers.js';

/** A token of the data language, with the character it starts at. */
export type Token =
  | { readonly type: 'number'; readonly pos: number; readonly value: bigint }
  | { readonly type: 'bytes'; readonly pos: number; readonly bytes: Uint8Array }
  | { readonly type: 'offset'; readonly pos: number; readonly mode: OffsetMode; readonly value: bigint }
  | { readonly type: 'file'; readonly pos: number; readonly path: string }
  | { readonly type: 'script'; readonly pos: number; readonly script: string }
  | { readonly type: 'name'; readonly pos: number; readonly name: string }
  | { readonly type: 'variable'; readonly pos: number; readonly name: string }
  | { readonly type: '(' | ')' | '*' | '[' | ']' | ':' | '->' | 'end'; readonly pos: number };

const WORD = /^(le|be)(16|32|64):/;
const NUMBER = /^[0-9a-zA-Z_]+/;
const NAME = /^[A-Za-z0-9_-]+/;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*/;
/** Where a file name ends besides white space: the operators that may follow it. */
const FILE_NAME = /^[^\s[\]()*]+/;
const ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };

/** Splits a description into tokens, one at a time; `#` starts a comment to the end of the line. */
export class Lexer {
  private at = 0;
  private peeked: Token | undefined;

  constructor(
    private readonly source: string,
    private readonly text: string,
  ) {}

  /** The next token, without consuming it. */
  peek(): Token {
    this.peeked ??= this.read();
    return this.peeked;
  }

  /** Consumes and returns the next token. */
  next(): Token {
    const token = this.peek();
    this.peeked = undefined;
    return token;
  }

  /** An error at `pos` of this source. */
  error(pos: number, message: string): DataError {
    return new DataError(this.source, pos, message);
  }

  private read(): Token {
    this.skipSpace();
    const pos = this.at;
    const rest = this.text.slice(pos);
    const c = rest[0];
    if (c === undefined) return { type: 'end', pos };
    if (c === '(' || c === ')' || c === '*' || c === '[' || c === ']' || c === ':') {
      this.at++;
      return { type: c, pos };
    }
    if (rest.startsWith('->')) {
      this.at += 2;
      return { type: '->', pos };
    }
    if (c === '"') return { type: 'bytes', pos, bytes: this.string() };
    if (c === '@') return this.offset(pos);
    if (c === '<') return rest[1] === '(' ? { type: 'script', pos, script: this.script() } : { type: 'file', pos, path: this.match(1, FILE_NAME, 'a file name after <') };
    if (c === '\\') return { type: 'name', pos, name: this.match(1, NAME, 'a name of letters, digits, - and _ after \\') };
    if (c === '$') return { type: 'variable', pos, name: this.match(1, VARIABLE, 'a variable name after $') };
    const word = WORD.exec(rest);
    if (word !== null) return { type: 'bytes', pos, bytes: this.word(word[1] as string, Number(word[2]), word[0].length) };
    if (c >= '0' && c <= '9') return { type: 'number', pos, value: this.number(0) };
    throw this.error(pos, `unexpected ${JSON.stringify(c)}`);
  }

  private skipSpace(): void {
    for (;;) {
      const c = this.text[this.at];
      if (c === '#') {
        const eol = this.text.indexOf('\n', this.at);
        this.at = eol < 0 ? this.text.length : eol + 1;
      } else if (c !== undefined && /\s/.test(c)) {
        this.at++;
      } else {
        return;
      }
    }
  }

  /** Consumes what `pattern` matches `skip` characters on, or fails expecting `what`. */
  private match(skip: number, pattern: RegExp, what: string): string {
    const m = pattern.exec(this.text.slice(this.at + skip));
    if (m === null) throw this.error(this.at + skip, `expected ${what}`);
    this.at += skip + m[0].length;
    return m[0];
  }

  /** A number `skip` characters on: decimal, octal (leading 0) or hexadecimal (0x). */
  private number(skip: number): bigint {
    const pos = this.at + skip;
    const text = this.match(skip, NUMBER, 'a number');
    const value = parseNumber(text);
    if (value === undefined) throw this.error(pos, `${JSON.stringify(text)} is not a number (decimal, octal with a leading 0, or hexadecimal with 0x)`);
    return value;
  }

  private offset(pos: number): Token {
    const c = this.text[pos + 1];
    const mode: OffsetMode = c === '+' || c === '-' || c === '^' ? c : '@';
    return { type: 'offset', pos, mode, value: this.number(mode === '@' ? 1 : 2) };
  }

  private word(order: string, bits: number, skip: number): Uint8Array {
    const pos = this.at;
    const value = this.number(skip);
    if (value >= 1n << BigInt(bits)) throw this.error(pos, `${value} does not fit in ${bits} bits`);
    const bytes = new Uint8Array(bits / 8);
    const view = new DataView(bytes.buffer);
    if (bits === 16) view.setUint16(0, Number(value), order === 'le');
    else if (bits === 32) view.setUint32(0, Number(value), order === 'le');
    else view.setBigUint64(0, value, order === 'le');
    return bytes;
  }

  /** A string in double quotes, with C's escapes (\\xHH and \\OOO included); other escaped characters stand for themselves. */
  private string(): Uint8Array {
    const start = this.at;
    const out: number[] = [];
    let i = start + 1;
    for (;;) {
      const c = this.text[i];
      if (c === undefined) throw this.error(start, 'string without its closing "');
      if (c === '"') break;
      if (c !== '\\') {
        const char = String.fromCodePoint(this.text.codePointAt(i) as number);
        out.push(...Buffer.from(char, 'utf8'));
        i += char.length;
        continue;
      }
      const e = this.text[i + 1];
      if (e === undefined) throw this.error(start, 'string without its closing "');
      const hex = e === 'x' ? /^[0-9a-fA-F]{1,2}/.exec(this.text.slice(i + 2)) : null;
      const octal = /^[0-7]{1,3}/.exec(this.text.slice(i + 1));
      if (e === 'x') {
        if (hex === null) throw this.error(i, '\\x needs one or two hexadecimal digits');
        out.push(parseInt(hex[0], 16));
        i += 2 + hex[0].length;
      } else if (octal !== null) {
        const value = parseInt(octal[0], 8);
        if (value > 255) throw this.error(i, `\\${octal[0]} is more than a byte`);
        out.push(value);
        i += 1 + octal[0].length;
      } else {
        const char = String.fromCodePoint(this.text.codePointAt(i + 1) as number);
        out.push(...(ESCAPES[char] === undefined ? Buffer.from(char, 'utf8') : [ESCAPES[char]]));
        i += 1 + char.length;
      }
    }
    this.at = i + 1;
    return Uint8Array.from(out);
  }

  /** `<(SCRIPT)`: the script runs to the matching parenthesis. */
  private script(): string {
    const start = this.at;
    let depth = 0;
    for (let i = start + 1; i < this.text.length; i++) {
      const c = this.text[i];
      if (c === '(') depth++;
      else if (c === ')' && --depth === 0) {
        this.at = i + 1;
        return this.text.slice(start + 2, i);
      }
    }
    throw this.error(start, '<( without its closing )');
  }
}
