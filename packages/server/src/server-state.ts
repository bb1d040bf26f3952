import type { Logger, Mutex } from '@nbdkit-ts/core';
import type { Stack } from './stack/stack.js';
import type { Limits } from './limits/limits.js';
import type { BufferPool } from './limits/buffer-pool.js';
import type { ByteBudget } from './limits/byte-budget.js';
import type { TlsSetup } from './tls/load-tls.js';

/** What every connection needs from the server it belongs to: the server's state shared by its connections. */
export interface ServerState {
  readonly stack: Stack;
  /** `-r`: every export is read-only. */
  readonly readonly: boolean;
  /** The handshake flags advertised (`--mask-handshake` may take some away). */
  readonly handshakeFlags: number;
  /** `--no-sr`: NBD_OPT_STRUCTURED_REPLY is refused. */
  readonly noStructuredReplies: boolean;
  readonly verbose: boolean;
  readonly log: Logger;
  /** Aborted when the server shuts down. */
  readonly signal: AbortSignal;
  /** Taken for every request when the stack is serialize-all-requests. */
  readonly requestLock: Mutex;
  readonly limits: Limits;
  /** The server-wide budget of buffer bytes (Limits.maxBuffer). */
  readonly budget: ByteBudget;
  /** The server's recycled buffers. */
  readonly buffers: BufferPool;
  /** TLS, when --tls is on or require. */
  readonly tls: TlsSetup | undefined;
}
