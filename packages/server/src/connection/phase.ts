/**
 * Where a connection is in its life. Every connection goes through these in
 * order, skipping transmission when the handshake ends without an export:
 *
 * - `handshake`: greeting, options, TLS, until an export is open;
 * - `transmission`: requests are read and answered;
 * - `draining`: it ended (see {@link EndCause}); nothing more is read, and
 *   the requests in flight finish (answered if the socket is still there);
 * - `closed`: every context the connection opened is finalized and closed,
 *   then the socket is closed (as nbdkit: a client waiting for the hang-up
 *   knows the close is done), its memory and its connection slot are released.
 */
export type Phase = 'handshake' | 'transmission' | 'draining' | 'closed';

/** Why a connection ended. */
export type EndCause =
  /** NBD_CMD_DISC: replies to what is in flight are still sent. */
  | 'disconnect'
  /** The handshake ended without an export: NBD_OPT_ABORT, or a refused NBD_OPT_EXPORT_NAME. */
  | 'no-export'
  /** The client closed its side, reset, or the socket failed. */
  | 'client-gone'
  /** The client broke the protocol: nothing more is read; replies already due still leave. */
  | 'protocol-error'
  /** No transmission within --handshake-timeout. */
  | 'handshake-timeout'
  /** The server is shutting down: what is in flight is still answered. */
  | 'shutdown'
  /** Shutdown past its deadline: dropped whatever is in flight. */
  | 'killed'
  /** A fault of the server or of a layer outside any request. */
  | 'failure'
  /** A layer dropped the connection (ConnectionInfo.disconnect(true)). */
  | 'dropped-by-layer';

/** Whether replies to the requests in flight are still sent after an end of this cause. */
export function keepsSocket(cause: EndCause): boolean {
  return cause === 'disconnect' || cause === 'shutdown' || cause === 'no-export' || cause === 'protocol-error';
}

/**
 * The phase after `event` in `phase`: `negotiated` (an export is open),
 * `end` (any cause), `idle` (nothing left in flight while draining). Events
 * that do not apply leave the phase as it is; a closed connection stays closed.
 */
export function nextPhase(phase: Phase, event: 'negotiated' | 'end' | 'idle'): Phase {
  switch (event) {
    case 'negotiated':
      return phase === 'handshake' ? 'transmission' : phase;
    case 'end':
      return phase === 'handshake' || phase === 'transmission' ? 'draining' : phase;
    case 'idle':
      return phase === 'draining' ? 'closed' : phase;
  }
}
