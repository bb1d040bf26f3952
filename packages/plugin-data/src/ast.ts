/** An expression of the data language, with the character it starts at in its source. */
export type Expr = ValueExpr | OffsetExpr | AssignExpr;

/** `@N`, `@+N`, `@-N`, `@^N`: moves the current offset. */
export interface OffsetExpr {
  readonly kind: 'offset';
  readonly pos: number;
  readonly mode: OffsetMode;
  readonly value: bigint;
}

/** `EXPR -> \NAME`: binds the value of EXPR to the name in the current scope. */
export interface AssignExpr {
  readonly kind: 'assign';
  readonly pos: number;
  readonly expr: ValueExpr;
  readonly name: string;
}

/** An expression that has a value: bytes placed at the current offset. */
export type ValueExpr =
  /** Bytes written at the current offset: a byte, a word, a string. */
  | { readonly kind: 'bytes'; readonly pos: number; readonly bytes: Uint8Array }
  /** `<FILE`. */
  | { readonly kind: 'file'; readonly pos: number; readonly path: string }
  /** `<(SCRIPT)`. */
  | { readonly kind: 'script'; readonly pos: number; readonly script: string }
  /** `( ... )`: a scope of its own, offsets counted from its start. */
  | { readonly kind: 'group'; readonly pos: number; readonly body: readonly Expr[] }
  /** `EXPR*N`. */
  | { readonly kind: 'repeat'; readonly pos: number; readonly expr: ValueExpr; readonly count: bigint }
  /** `EXPR[START:END]`, either bound left out. */
  | { readonly kind: 'slice'; readonly pos: number; readonly expr: ValueExpr; readonly start: bigint | undefined; readonly end: bigint | undefined }
  /** `\NAME`. */
  | { readonly kind: 'name'; readonly pos: number; readonly name: string }
  /** `$VAR`. */
  | { readonly kind: 'variable'; readonly pos: number; readonly name: string };

/** How `@` moves the offset: to N, forward N, back N, or forward to a multiple of N. */
export type OffsetMode = '@' | '+' | '-' | '^';
