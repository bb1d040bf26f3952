import type { Logger } from './logger.js';
import type { Backend, Next, OpenOptions } from './next.js';

/** What every open hook is told about the connection it serves. */
export interface ConnectionInfo {
  /** The export name the client asked for (after default-export resolution). */
  readonly exportName: string;
  /** Whether this context is opened read-only: `-r`, or the layer that opened it asked for `readonly: true`. */
  readonly readonly: boolean;
  /** Whether the connection runs over TLS. */
  readonly tls: boolean;
  /** Aborted when the client goes away or the server shuts down. */
  readonly signal: AbortSignal;
  /** Messages of this layer about this connection. */
  readonly log: Logger;
  /** The value of a `-D LAYER.FLAG=N` debug flag of this layer, 0 when unset. */
  debugFlag(name: string): number;
  /**
   * Ends the client's connection (nbdkit_disconnect): `force` drops it at
   * once, replies in flight included; otherwise the requests in flight are
   * answered and every later one fails with ESHUTDOWN without reaching the
   * layers, until the client leaves. Does nothing outside a connection
   * (a shared context).
   */
  disconnect(force: boolean): void;
}

/**
 * A filter's view of one connection. It holds the Next *associated* with the
 * connection: the server prepares, finalizes and closes that one for the
 * filter. Other contexts the filter opens with `backend.open` are its own.
 */
export interface Context extends ConnectionInfo {
  /** The layer beneath, for opening extra contexts tied to this connection. */
  readonly backend: Backend;
  /** The Next associated with this connection, if any. */
  readonly next: Next | undefined;
  /**
   * Opens a context on the layer beneath and associates it with the
   * connection (what a filter without an open hook gets). Options default to
   * this context's export name and read-only state: the connection's, or
   * those this context was opened with (a shared context, another export).
   */
  openNext(options?: Omit<OpenOptions, 'shared'>): Promise<Next>;
  /**
   * Associates `next` (or nothing) with the connection and returns the Next
   * that was associated before; the caller now owns that one and closes it.
   */
  setNext(next: Next | undefined): Next | undefined;
}
