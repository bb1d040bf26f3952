import { errorMessage } from '@nbdkit-ts/core';
import type { Expr, OffsetExpr, ValueExpr } from './ast.js';
import { DataError } from './data-error.js';
import { Image } from './image.js';
import { parse } from './parser.js';
import { readFileBytes, scriptOutput } from './sources.js';

/** The text of `$NAME`, or undefined when it is not set. */
export type Variables = (name: string) => string | undefined;

/** Reads of a file or script sliced to at most this many bytes read only those. */
const LIMITED_READ = 1n << 31n;

/** The names bound by `-> \NAME` in one scope, seeing those of the scopes it is nested in. */
class Scope {
  private readonly names = new Map<string, Image>();

  constructor(private readonly parent: Scope | undefined) {}

  bind(name: string, value: Image): void {
    this.names.set(name, value);
  }

  lookup(name: string): Image | undefined {
    return this.names.get(name) ?? this.parent?.lookup(name);
  }
}

/**
 * Evaluates a description of the data language (`data=`) into the image it
 * describes. Names are bound to values when assigned, so a name keeps the
 * value its expression had then. Throws a DataError naming the source
 * (`data=` or `$VAR`) and the character where evaluation failed.
 */
export function evaluate(text: string, variables: Variables): Image {
  return new Evaluator(variables).text('data=', text, undefined);
}

class Evaluator {
  /** The variables being expanded, innermost last, to refuse one that refers to itself. */
  private readonly expanding: string[] = [];

  constructor(private readonly variables: Variables) {}

  text(source: string, text: string, parent: Scope | undefined): Image {
    return this.scope(source, parse(source, text), new Scope(parent));
  }

  private scope(source: string, body: readonly Expr[], scope: Scope): Image {
    const image = new Image();
    let offset = 0n;
    for (const expr of body) {
      try {
        if (expr.kind === 'offset') {
          offset = this.move(source, expr, offset);
          image.extendTo(offset);
        } else if (expr.kind === 'assign') {
          scope.bind(expr.name, this.value(source, expr.expr, scope));
        } else {
          const value = this.value(source, expr, scope);
          image.place(value, offset);
          offset += value.length;
        }
      } catch (e) {
        if (e instanceof RangeError) throw new DataError(source, expr.pos, e.message);
        throw e;
      }
    }
    return image;
  }

  private move(source: string, expr: OffsetExpr, offset: bigint): bigint {
    switch (expr.mode) {
      case '@':
        return expr.value;
      case '+':
        return offset + expr.value;
      case '-':
        if (expr.value > offset) throw new DataError(source, expr.pos, `@-${expr.value} moves before the start (the offset is ${offset})`);
        return offset - expr.value;
      case '^':
        if (expr.value === 0n) throw new DataError(source, expr.pos, '@^0: the alignment must be at least 1');
        return ((offset + expr.value - 1n) / expr.value) * expr.value;
    }
  }

  private value(source: string, expr: ValueExpr, scope: Scope): Image {
    switch (expr.kind) {
      case 'bytes':
        return Image.of(expr.bytes);
      case 'file':
      case 'script':
        return this.read(source, expr, undefined);
      case 'group':
        return this.scope(source, expr.body, new Scope(scope));
      case 'repeat':
        return this.value(source, expr.expr, scope).repeat(expr.count);
      case 'slice':
        return this.slice(source, expr, scope);
      case 'name': {
        const value = scope.lookup(expr.name);
        if (value === undefined) throw new DataError(source, expr.pos, `\\${expr.name} is not defined here`);
        return value;
      }
      case 'variable':
        return this.variable(source, expr.pos, expr.name, scope);
    }
  }

  /** `<FILE` or `<(SCRIPT)`, all of it or its first `limit` bytes. */
  private read(source: string, expr: ValueExpr & { kind: 'file' | 'script' }, limit: number | undefined): Image {
    try {
      return Image.of(expr.kind === 'file' ? readFileBytes(expr.path, limit) : scriptOutput(expr.script, limit));
    } catch (e) {
      const what = expr.kind === 'file' ? `<${expr.path}` : '<(...)';
      throw new DataError(source, expr.pos, `${what}: ${errorMessage(e)}`);
    }
  }

  private slice(source: string, expr: ValueExpr & { kind: 'slice' }, scope: Scope): Image {
    const inner = expr.expr;
    const { start = 0n, end } = expr;
    const limited = end !== undefined && end <= LIMITED_READ && (inner.kind === 'file' || inner.kind === 'script');
    const value = limited ? this.read(source, inner, Number(end)) : this.value(source, inner, scope);
    // An empty slice is empty whatever it starts at.
    if (end === start) return new Image();
    const stop = end ?? value.length;
    if (start > stop || stop > value.length) {
      throw new DataError(source, expr.pos, `[${start}:${end ?? ''}] is outside the ${value.length} bytes of the expression before it`);
    }
    return value.slice(start, stop);
  }

  private variable(source: string, pos: number, name: string, scope: Scope): Image {
    const text = this.variables(name);
    if (text === undefined) throw new DataError(source, pos, `$${name} is not set (a parameter ${name}= or an environment variable)`);
    if (this.expanding.includes(name)) throw new DataError(source, pos, `$${name} refers to itself`);
    this.expanding.push(name);
    try {
      return this.text(`$${name}`, text, scope);
    } finally {
      this.expanding.pop();
    }
  }
}
