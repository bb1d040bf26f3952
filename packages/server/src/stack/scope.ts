import { errorMessage, type Logger } from '@nbdkit-ts/core';

/** What a scope keeps of each context opened in it. */
export interface ScopedContext {
  readonly layer: { readonly index: number };
  close(): Promise<void>;
}

/**
 * Who contexts are opened for: one connection, or the server itself for
 * shared contexts. A scope ends when its signal is aborted (the connection
 * ended, or the server's shutdown began): from then on nothing opens in it,
 * and what is still open is closed by its owner with {@link closeAll}.
 */
export class Scope {
  /** Contexts opened in this scope and not yet closed. */
  readonly open = new Set<ScopedContext>();

  constructor(
    readonly exportName: string,
    readonly readonly: boolean,
    readonly tls: boolean,
    /** Aborted when the scope ends. */
    readonly signal: AbortSignal,
    /** The connection's number; undefined for the server's shared scope. */
    readonly connectionId: number | undefined,
    /** Connection-level messages. */
    readonly log: Logger,
    /** Ends the connection (ConnectionInfo.disconnect); nothing for the shared scope. */
    readonly disconnect: (force: boolean) => void = () => {},
  ) {}

  /** The scope in messages: `connection 3`, or `the shared scope`. */
  get name(): string {
    return this.connectionId === undefined ? 'the shared scope' : `connection ${this.connectionId}`;
  }

  /** Why nothing opens here any more. */
  get endedReason(): string {
    return this.connectionId === undefined ? 'the server is shutting down' : `connection ${this.connectionId} has ended`;
  }

  /** Closes every context still open here, outermost layer first; errors are logged. */
  async closeAll(): Promise<void> {
    const left = [...this.open].sort((a, b) => a.layer.index - b.layer.index);
    for (const ctx of left) {
      await ctx.close().catch((e: unknown) => this.log.error(`${this.name}: closing a context: ${errorMessage(e)}`));
    }
  }
}
