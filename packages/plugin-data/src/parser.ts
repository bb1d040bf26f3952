import type { Expr, OffsetExpr, ValueExpr } from './ast.js';
import { Lexer, type Token } from './lexer.js';

/**
 * Parses a description of the data language into its expressions. `source`
 * names it in error messages (`data=`, `$VAR`). Throws a DataError naming
 * the character where the description goes wrong.
 */
export function parse(source: string, text: string): Expr[] {
  return new Parser(new Lexer(source, text)).scope(undefined);
}

class Parser {
  constructor(private readonly lexer: Lexer) {}

  /** Expressions up to the end, or up to the `)` closing the `(` at `open`. */
  scope(open: number | undefined): Expr[] {
    const body: Expr[] = [];
    for (;;) {
      const token = this.lexer.peek();
      if (token.type === 'end') {
        if (open !== undefined) throw this.lexer.error(open, '( without its closing )');
        return body;
      }
      if (token.type === ')') {
        if (open === undefined) throw this.lexer.error(token.pos, ') without an opening (');
        this.lexer.next();
        return body;
      }
      body.push(this.expression());
    }
  }

  /** One expression and the operators after it: `*N`, `[START:END]`, `-> \NAME`. */
  private expression(): Expr {
    const token = this.lexer.next();
    let expr = this.primary(token);
    if (expr.kind === 'offset') return expr;
    for (;;) {
      const op = this.lexer.peek();
      if (op.type === '*') {
        this.lexer.next();
        expr = { kind: 'repeat', pos: op.pos, expr, count: this.count('*') };
      } else if (op.type === '[') {
        this.lexer.next();
        expr = this.slice(expr, op.pos);
      } else if (op.type === '->') {
        this.lexer.next();
        const name = this.lexer.next();
        if (name.type !== 'name') throw this.lexer.error(name.pos, 'expected a \\NAME after ->');
        return { kind: 'assign', pos: op.pos, expr, name: name.name };
      } else {
        return expr;
      }
    }
  }

  private primary(token: Token): ValueExpr | OffsetExpr {
    const pos = token.pos;
    switch (token.type) {
      case 'number':
        if (token.value > 255n) throw this.lexer.error(pos, `${token.value} is not a byte (0 to 255); use le16:, be32:, ... for a word`);
        return { kind: 'bytes', pos, bytes: Uint8Array.of(Number(token.value)) };
      case 'bytes':
        return { kind: 'bytes', pos, bytes: token.bytes };
      case 'offset':
        return { kind: 'offset', pos, mode: token.mode, value: token.value };
      case 'file':
        return { kind: 'file', pos, path: token.path };
      case 'script':
        return { kind: 'script', pos, script: token.script };
      case 'name':
        return { kind: 'name', pos, name: token.name };
      case 'variable':
        return { kind: 'variable', pos, name: token.name };
      case '(':
        return { kind: 'group', pos, body: this.scope(pos) };
      case 'end':
        throw this.lexer.error(pos, 'unexpected end');
      default:
        throw this.lexer.error(pos, `${token.type} needs an expression before it`);
    }
  }

  /** The number after `*`, `[` or `:`. */
  private count(after: string): bigint {
    const token = this.lexer.next();
    if (token.type !== 'number') throw this.lexer.error(token.pos, `expected a number after ${after}`);
    return token.value;
  }

  /** `[START:END]` after `[`, either number left out. */
  private slice(expr: ValueExpr, pos: number): ValueExpr {
    const start = this.lexer.peek().type === 'number' ? this.count('[') : undefined;
    const colon = this.lexer.next();
    if (colon.type !== ':') throw this.lexer.error(colon.pos, 'expected : in [START:END]');
    const end = this.lexer.peek().type === 'number' ? this.count(':') : undefined;
    const close = this.lexer.next();
    if (close.type !== ']') throw this.lexer.error(close.pos, 'expected ] closing [START:END]');
    return { kind: 'slice', pos, expr, start, end };
  }
}
