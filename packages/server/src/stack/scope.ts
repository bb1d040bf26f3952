import type { Logger } from '@nbdkit-ts/core';

/**
 * Who contexts are opened for: one connection, or the server itself for
 * shared contexts. Contexts still open when the scope ends are closed then.
 */
export interface Scope {
  readonly exportName: string;
  readonly readonly: boolean;
  readonly tls: boolean;
  readonly signal: AbortSignal;
  /** Contexts opened in this scope and not yet closed. */
  readonly open: Set<{ close(): Promise<void> }>;
  /** Whether this is the server's shared scope. */
  readonly shared: boolean;
  /** The connection's number, for messages; undefined for the shared scope. */
  readonly connectionId: number | undefined;
  /** Connection-level messages. */
  readonly log: Logger;
}
