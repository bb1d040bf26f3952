import { MAX_REQUEST_SIZE } from '../protocol/constants.js';

/** The bounds the server keeps whatever clients and layers do. Times are in milliseconds (0: none). */
export interface Limits {
  /** Time a client may take in the handshake (options, TLS), the layers' answers not counted; past it the connection is dropped. */
  readonly handshakeTimeout: number;
  /** Longest a call into the stack may take before the request fails with ETIMEDOUT (sent as EIO). */
  readonly requestTimeout: number;
  /** Longest a graceful shutdown waits for connections and cleanup before it gives up on them. */
  readonly shutdownTimeout: number;
  /** Connections served at once; the next ones are refused with NBD_REP_ERR_POLICY. */
  readonly maxConnections: number;
  /** Requests of one connection handed to the stack at once; the next ones wait in the socket. */
  readonly maxRequestsInFlight: number;
  /** Bytes of request payload and read data buffered and in flight, for the whole server. */
  readonly maxBuffer: number;
  /** The same, for one connection. */
  readonly maxConnectionBuffer: number;
}

/**
 * Bytes of requests each connection may hold without drawing on the server's
 * pool, so that small requests go on while large ones wait for the pool.
 */
export const CONNECTION_ALLOWANCE = 1024 * 1024;

/** The defaults of {@link Limits}. */
export const DEFAULT_LIMITS: Limits = {
  handshakeTimeout: 5_000,
  requestTimeout: 0,
  shutdownTimeout: 10_000,
  maxConnections: 1024,
  maxRequestsInFlight: 256,
  maxBuffer: 256 * 1024 * 1024,
  maxConnectionBuffer: 2 * MAX_REQUEST_SIZE,
};

/** The smallest limits that still let a request of the largest size through. */
export const MIN_BUFFER = MAX_REQUEST_SIZE;
export const MIN_CONNECTION_BUFFER = MAX_REQUEST_SIZE + CONNECTION_ALLOWANCE;
