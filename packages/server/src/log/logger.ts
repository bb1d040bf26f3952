import type { Logger } from '@nbdkit-ts/core';

/** Where the server's messages go; tests and embedders may replace it. */
export type LogSink = (line: string) => void;

const stderrSink: LogSink = (line) => {
  process.stderr.write(line + '\n');
};

/** Options that decide what the server logs. */
export interface LogOptions {
  /** `-v`: show debug messages. */
  readonly verbose: boolean;
  /** Where lines go; stderr by default. */
  readonly sink?: LogSink | undefined;
}

/** A logger whose lines start with `nbdkit-ts: PREFIX:`. */
export function createLogger(prefix: string, options: LogOptions): Logger {
  const sink = options.sink ?? stderrSink;
  const head = prefix === '' ? 'nbdkit-ts' : `nbdkit-ts: ${prefix}`;
  return {
    debug: options.verbose ? (m) => sink(`${head}: debug: ${m}`) : () => {},
    info: (m) => sink(`${head}: ${m}`),
    warn: (m) => sink(`${head}: warning: ${m}`),
    error: (m) => sink(`${head}: error: ${m}`),
  };
}
