import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { errorMessage } from '@nbdkit-ts/core';
import { ProtocolError } from '../protocol/requests.js';
import type { TlsSetup } from './load-tls.js';

/** OpenSSL's short reason for a failure (`binder does not verify`), or the message. */
function tlsReason(e: unknown): string {
  const reason = (e as { reason?: unknown }).reason;
  return typeof reason === 'string' ? reason : errorMessage(e).trim();
}

/**
 * Runs the server side of a TLS handshake on `raw` (after the ACK of
 * NBD_OPT_STARTTLS has been sent) and resolves with the encrypted socket.
 * The handshake goes through a tls.Server of its own, so Node checks the
 * client's certificate (--tls-verify-peer) as for any socket it accepts.
 * Throws ProtocolError when the handshake fails or the client is refused.
 */
export function startTls(raw: Socket, setup: TlsSetup): Promise<TLSSocket> {
  const server = setup.tls.createServer(setup.options);
  return new Promise<TLSSocket>((resolve, reject) => {
    const onClose = () => reject(new ProtocolError('TLS handshake failed: the client closed the connection'));
    raw.once('close', onClose);
    server.once('secureConnection', (s: TLSSocket) => {
      raw.off('close', onClose);
      if (setup.verifyPeer && !s.authorized) {
        s.destroy();
        reject(new ProtocolError(`TLS: client certificate refused: ${String(s.authorizationError)}`));
      } else resolve(s);
    });
    server.once('tlsClientError', (e: Error, s: TLSSocket) => {
      raw.off('close', onClose);
      s.destroy();
      reject(new ProtocolError(`TLS handshake failed: ${tlsReason(e)}`));
    });
    server.emit('connection', raw);
  });
}
