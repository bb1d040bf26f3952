import type { Socket } from 'node:net';
import { errorMessage, Mutex } from '@nbdkit-ts/core';
import { MAX_OPTION_LENGTH, MAX_REQUEST_SIZE, REQUEST_SIZE, NBD_CMD_DISC, NBD_CMD_READ } from '../protocol/constants.js';
import { greeting } from '../protocol/handshake.js';
import { OptionParser } from '../protocol/options.js';
import { keepsSocket, nextPhase, type EndCause, type Phase } from './phase.js';
import { ProtocolError, RequestParser, type Request } from '../protocol/requests.js';
import { Scope } from '../stack/scope.js';
import { DeadlineCalls, withDeadline } from '../stack/deadline.js';
import { BufferAccount, type Charge } from '../limits/byte-budget.js';
import { checkClientFlags, negotiate, type Negotiated } from './negotiate.js';
import { ReplyWriter } from './reply-writer.js';
import type { ServerState } from '../server-state.js';
import { startTls } from '../tls/start-tls.js';
import { POOL_FROM, ReceiveBuffer } from '../limits/buffer-pool.js';
import { readInPlace, socketFd } from './reads-in-place.js';
import { runRequest } from './transmission.js';

/**
 * Reply bytes queued on the socket before the server stops reading from it:
 * many times what the kernel's socket buffer takes, so the client always
 * has data to read, and no more (every queued byte is a buffer held).
 */
const MAX_QUEUED_REPLIES = 4 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const NO_CHARGE: Charge = { own: 0, pooled: 0 };
/** How long the replies still queued when a connection closes get to leave before the socket is dropped. */
const CLOSE_LINGER = 5_000;

/**
 * One client connection: owns the socket (plain, then TLS after
 * NBD_OPT_STARTTLS), its phase (see {@link Phase}) and the write queue, and
 * closes its contexts at the end.
 *
 * Every way a connection ends (NBD_CMD_DISC, EOF, reset, protocol error,
 * handshake timeout, TLS failure, server shutdown) goes through {@link end}:
 * reading stops, the requests in flight finish, then {@link teardown} closes
 * the socket and every context the connection opened, and releases its
 * memory; {@link finished} settles after that, and the server releases the
 * connection's slot.
 *
 * The socket is read only while the connection can take what arrives: in the
 * handshake, only while an option is awaited; in transmission, while the
 * requests in flight, the replies queued and the buffer bytes held stay
 * under their limits. A write's payload is charged when its header arrives,
 * a read's data before it runs; what cannot be charged waits, with the
 * socket paused, so memory stays bounded whatever the client sends.
 */
export class Connection {
  private socket: Socket;
  private writer: ReplyWriter;
  private phase: Phase = 'handshake';
  private cause: EndCause | undefined;
  /** Aborted when the socket is gone or the connection closes: the scope of its contexts ends. */
  private readonly abort = new AbortController();
  private readonly scopes: Scope[] = [];
  private options: OptionParser | undefined = new OptionParser(MAX_OPTION_LENGTH);
  private requests: RequestParser | undefined;
  private wake: (() => void) | undefined;
  /** Milliseconds spent waiting for the client in the handshake, against --handshake-timeout. */
  private clientTime = 0;
  /** Set once the socket was dropped: nothing more is sent or received. */
  private gone = false;
  private negotiated: Negotiated | undefined;
  private inFlight = 0;
  private tls = false;
  private readonly lock: Mutex | undefined;
  private idle: (() => void) | undefined;
  private readonly budget: BufferAccount;
  /** The charge for the payload of the write being received. */
  private payloadCharge: Charge | undefined;
  /** A request taken from the parser that waits for its buffer bytes. */
  private held: Request | undefined;
  /** Where socket reads land when they are read in place (see {@link readTarget}). */
  private readonly receive = new ReceiveBuffer();
  /** Whether the buffer of the read under way is a write payload's rather than {@link receive}'s. */
  private readingPayload = false;
  /** A layer asked for a soft disconnect during the handshake. */
  private refuseOnceNegotiated = false;
  /** Settles when the connection has closed its socket and its contexts. */
  readonly finished: Promise<void>;

  constructor(
    socket: Socket,
    private readonly server: ServerState,
    readonly id: number,
    /** Set for a connection over --max-connections: it is answered with this and served nothing. */
    private readonly refusal?: string,
  ) {
    // Without TLS, reads land where the connection says: a large write's
    // payload straight in its buffer. A socket that may turn TLS is read as usual.
    const inPlace = server.tls === undefined && refusal === undefined ? readInPlace(socket, this.readTarget) : undefined;
    this.socket = inPlace ?? socket;
    // A plain socket of its own: large reads may be sent to it from files.
    this.writer = new ReplyWriter(this.socket, inPlace === undefined ? undefined : socketFd(inPlace));
    this.budget = new BufferAccount(server.budget, server.limits.maxConnectionBuffer);
    const c = server.stack.concurrency;
    // As nbdkit's thread models: each level includes the ones below it.
    this.lock = c === 'serialize-connections' || c === 'serialize-all-requests' ? server.requestLock : c === 'serialize-requests' ? new Mutex() : undefined;
    this.socket.setNoDelay(true);
    this.attach(this.socket);
    this.socket.pause();
    this.finished = this.run()
      .catch((e: unknown) => {
        if (e instanceof ProtocolError) {
          this.debug(`protocol error: ${e.message}`);
          this.end('protocol-error');
        } else {
          server.log.error(`connection ${id}: ${errorMessage(e)}`);
          this.end('failure');
        }
      })
      .then(() => this.teardown());
  }

  private debug(message: string): void {
    this.server.log.debug(`connection ${this.id}: ${message}`);
  }

  private attach(socket: Socket): void {
    socket.on('data', this.onData).on('end', this.onGone).on('close', this.onGone).on('error', this.onError).on('drain', this.onDrain);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onData).off('end', this.onGone).off('close', this.onGone).off('error', this.onError).off('drain', this.onDrain);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.requests !== undefined) {
      this.requests.push(chunk);
      this.pump();
    } else if (this.options !== undefined) {
      this.options.push(chunk);
      this.wake?.();
    }
  };

  /** For a socket read in place: the payload being received when it is charged, else the next receive region. */
  private readonly readTarget = {
    buffer: (): Uint8Array => {
      const space = this.payloadCharge !== undefined ? this.requests?.payloadSpace() : undefined;
      const afterPayload = this.readingPayload;
      this.readingPayload = space !== undefined;
      if (space !== undefined) return space;
      // After a large write, read one header: if another large write follows, none of its payload lands here to be copied.
      return afterPayload ? this.receive.space().subarray(0, REQUEST_SIZE) : this.receive.space();
    },
    read: (n: number): void => {
      if (!this.readingPayload) {
        this.onData(this.receive.take(n));
        return;
      }
      this.requests?.received(n);
      this.pump();
    },
  };

  private readonly onError = (e: Error): void => {
    this.debug(`socket: ${e.message}`);
    this.end('client-gone');
  };

  private readonly onGone = (): void => this.end('client-gone');

  private readonly onDrain = (): void => {
    this.budget.sent(this.writer.pending);
    if (this.phase === 'transmission' && this.socket.isPaused()) this.pump();
  };

  /**
   * The one way out, from any phase and for any cause: stops reading, and
   * drops the socket unless the cause lets replies still leave. The
   * connection closes once nothing is in flight. The first cause is the one
   * reported; a later one may still drop the socket (a shutdown past its
   * deadline, a client gone while draining).
   */
  private end(cause: EndCause): void {
    if (this.cause === undefined) {
      this.cause = cause;
      this.debug(`ending: ${cause}`);
    }
    if (!keepsSocket(cause)) this.dropSocket();
    const next = nextPhase(this.phase, 'end');
    if (next === this.phase) return;
    this.phase = next;
    if (!this.gone) this.socket.pause();
    this.wake?.();
    this.checkIdle();
  }

  /** The socket is gone or must go: nothing more is sent; what replies held is released. */
  private dropSocket(): void {
    if (this.gone) return;
    this.gone = true;
    this.socket.destroy();
    this.abort.abort();
    this.releaseMemory();
  }

  private releaseMemory(): void {
    this.budget.close();
    if (this.payloadCharge !== undefined) this.budget.release(this.payloadCharge);
    this.payloadCharge = undefined;
    this.held = undefined;
  }

  private async run(): Promise<void> {
    const n = await this.handshake();
    if (n === undefined) {
      this.end('no-export');
      return;
    }
    const timeout = this.server.limits.requestTimeout;
    this.negotiated = timeout > 0 ? { ...n, top: new DeadlineCalls(n.context, timeout, (call) => this.requestExpired(call)) } : n;
    this.negotiated.refusing = this.refuseOnceNegotiated;
    // Ended while the export opened: the context is closed with the others.
    if (this.phase !== 'handshake') return;
    this.phase = nextPhase(this.phase, 'negotiated');
    this.debug(`transmission${this.tls ? ' over TLS' : ''}: export "${n.exportName}" size ${n.context.capabilities.size} flags 0x${n.eflags.toString(16)}`);
    const rest = (this.options as OptionParser).drain();
    this.options = undefined;
    this.requests = new RequestParser(MAX_REQUEST_SIZE, this.server.buffers.payload, POOL_FROM);
    if (rest.length > 0) this.requests.push(rest);
    this.pump();
    await new Promise<void>((resolve) => {
      this.idle = resolve;
      this.checkIdle();
    });
  }

  private async handshake(): Promise<Negotiated | undefined> {
    if (this.refusal === undefined) {
      const connecting = this.server.stack.preconnect({ readonly: this.server.readonly, tls: false });
      const timeout = this.server.limits.requestTimeout;
      await (timeout > 0 ? withDeadline(connecting, timeout, 'preconnect') : connecting);
    }
    this.writer.send(greeting(this.server.handshakeFlags));
    const flagBytes = await this.waitFor(() => this.options?.takeRaw(4));
    if (flagBytes === undefined) return undefined;
    const { noZeroes } = checkClientFlags(flagBytes.readUInt32BE(0), this.server.handshakeFlags);
    return negotiate(
      this.server,
      {
        nextOption: () => this.waitFor(() => this.options?.next()),
        send: (b) => this.writer.send(b),
        scopeFor: (exportName, readonly) => this.scopeFor(exportName, readonly),
        startTls: () => this.startTls(),
        tls: () => this.tls,
        refusal: this.refusal,
      },
      noZeroes,
    );
  }

  /**
   * Waits for `p`, something the client has to do in the handshake (send an
   * option, run the TLS handshake), within what is left of
   * --handshake-timeout: the time the client takes counts, the time the
   * layers take to answer its options (a slow open) does not.
   */
  private async fromClient<T>(p: Promise<T>): Promise<T> {
    const limit = this.server.limits.handshakeTimeout;
    if (limit === 0) return p;
    const started = Date.now();
    const timer = setTimeout(() => {
      if (this.phase !== 'handshake') return;
      this.debug(`handshake not finished within ${limit / 1000} s of waiting for the client`);
      this.end('handshake-timeout');
    }, Math.max(0, limit - this.clientTime));
    try {
      return await p;
    } finally {
      clearTimeout(timer);
      this.clientTime += Date.now() - started;
    }
  }

  private requestExpired(call: string): void {
    this.server.log.error(`connection ${this.id}: ${call}: no answer within ${this.server.limits.requestTimeout / 1000} s (--request-timeout): the request fails with EIO`);
  }

  /** Waits until `take` returns something or the handshake ends; reads the socket only meanwhile. */
  private async waitFor<T>(take: () => T | undefined): Promise<T | undefined> {
    for (;;) {
      const v = take();
      if (v !== undefined) return v;
      if (this.phase !== 'handshake') return undefined;
      this.socket.resume();
      await this.fromClient(new Promise<void>((resolve) => (this.wake = resolve)));
      this.wake = undefined;
      if (!this.gone) this.socket.pause();
    }
  }

  private async startTls(): Promise<void> {
    const setup = this.server.tls;
    const raw = this.socket;
    if (setup === undefined || this.options === undefined) throw new ProtocolError('TLS is not set up');
    // Whatever the client sent before the handshake was not protected: refuse it.
    if (this.options.buffered > 0 || raw.readableLength > 0) throw new ProtocolError('data after NBD_OPT_STARTTLS before the TLS handshake');
    // Let the ACK reach the kernel before the socket changes hands.
    await new Promise<void>((resolve) => raw.write(EMPTY, () => resolve()));
    if (raw.destroyed || this.phase !== 'handshake') throw new ProtocolError('the client went away before the TLS handshake');
    this.detach(raw);
    raw.on('error', this.onError).on('close', this.onGone);
    const secure = await this.fromClient(startTls(raw, setup));
    this.socket = secure;
    this.writer = new ReplyWriter(secure);
    this.attach(secure);
    secure.pause();
    this.tls = true;
    this.options = new OptionParser(MAX_OPTION_LENGTH);
    this.debug(`TLS: ${secure.getProtocol() ?? ''} ${secure.getCipher().name}`);
  }

  /** ConnectionInfo.disconnect: drop the connection, or refuse every later request. */
  private layerDisconnect(force: boolean): void {
    if (force) this.end('dropped-by-layer');
    else if (this.negotiated !== undefined) this.negotiated.refusing = true;
    else this.refuseOnceNegotiated = true;
  }

  private scopeFor(exportName: string, readonly: boolean): Scope {
    const scope = new Scope(exportName, readonly, this.tls, AbortSignal.any([this.abort.signal, this.server.signal]), this.id, this.server.log, (force) => this.layerDisconnect(force));
    this.scopes.push(scope);
    return scope;
  }

  /** Buffer bytes a request holds while it runs: a write's payload, a read's data. */
  private static bytesOf(req: Request): number {
    if (req.payload !== undefined) return req.payload.length;
    return req.type === NBD_CMD_READ && req.count <= MAX_REQUEST_SIZE ? req.count : 0;
  }

  /** Parses and starts every complete request, until a limit says to wait; their replies leave together. */
  private pump(): void {
    this.writer.batch(this.startRequests);
  }

  private readonly startRequests = (): void => {
    const parser = this.requests;
    const n = this.negotiated;
    if (parser === undefined || n === undefined) return;
    this.budget.sent(this.writer.pending);
    try {
      while (this.phase === 'transmission' && this.inFlight < this.server.limits.maxRequestsInFlight && this.writer.pending < MAX_QUEUED_REPLIES && !this.budget.waiting) {
        const req = this.held ?? parser.next();
        this.held = undefined;
        if (req === undefined) {
          this.chargePayload(parser.awaitedPayload);
          break;
        }
        if (req.type === NBD_CMD_DISC) {
          this.debug('client sent NBD_CMD_DISC');
          this.end('disconnect');
          break;
        }
        let charge = this.payloadCharge;
        this.payloadCharge = undefined;
        if (charge === undefined) {
          const bytes = Connection.bytesOf(req);
          // A payload that arrived whole with its header is in memory already.
          charge = req.payload !== undefined ? this.budget.force(bytes) : this.budget.tryCharge(bytes);
          if (charge === undefined) {
            this.held = req;
            this.budget.wait(bytes, (c) => {
              this.payloadCharge = c;
              this.pump();
            });
            break;
          }
        }
        this.start(req, n, charge);
      }
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.debug(`protocol error: ${e.message}`);
      this.end('protocol-error');
      return;
    }
    if (this.phase !== 'transmission') return;
    const busy = this.inFlight >= this.server.limits.maxRequestsInFlight || this.writer.pending >= MAX_QUEUED_REPLIES || this.budget.waiting || this.held !== undefined;
    if (busy) this.socket.pause();
    else this.socket.resume();
  };

  /** Charges the payload of the write being received before more of it is read. */
  private chargePayload(bytes: number): void {
    if (bytes === 0 || this.payloadCharge !== undefined) return;
    const c = this.budget.tryCharge(bytes);
    if (c !== undefined) {
      this.payloadCharge = c;
      return;
    }
    this.budget.wait(bytes, (granted) => {
      this.payloadCharge = granted;
      this.pump();
    });
  }

  private start(req: Request, n: Negotiated, charge: Charge): void {
    this.inFlight++;
    const started = this.lock === undefined ? runRequest(req, n, this.writer, this.server.buffers, this.log) : this.lock.run(() => runRequest(req, n, this.writer, this.server.buffers, this.log));
    const isRead = req.type === NBD_CMD_READ;
    if (started === undefined) this.requestDone(charge, isRead);
    else if (charge.own === 0 && charge.pooled === 0) void started.then(this.uncharged);
    else void started.then(() => this.requestDone(charge, isRead));
  }

  private readonly log = (m: string): void => this.debug(m);

  private readonly uncharged = (): void => this.requestDone(NO_CHARGE, false);

  private requestDone(charge: Charge, isRead: boolean): void {
    this.inFlight--;
    if (isRead) this.budget.toReply(charge);
    else this.budget.release(charge);
    if (this.inFlight === 0) this.checkIdle();
    if (this.phase === 'transmission' && this.socket.isPaused()) this.pump();
  }

  /** Stops taking requests; the connection ends once those in flight are answered. */
  stop(): void {
    this.end('shutdown');
  }

  /** Drops the connection now, whatever is in flight (the shutdown deadline passed). */
  kill(): void {
    this.end('killed');
    this.idle?.();
  }

  private checkIdle(): void {
    if (this.idle !== undefined && this.inFlight === 0 && this.phase === 'draining') this.idle();
  }

  /** The end of every connection: the socket closes, then every context it opened, outermost first. */
  private async teardown(): Promise<void> {
    this.phase = nextPhase(this.phase, 'idle');
    this.abort.abort();
    // As nbdkit, the contexts close before the socket does: a client that waits for the server
    // to hang up (libnbd's shutdown) knows that what the layers do at close (a write-back) is done.
    const top = this.negotiated?.context;
    if (top !== undefined) await top.close().catch((e: unknown) => this.server.log.error(`connection ${this.id}: close: ${errorMessage(e)}`));
    for (const scope of this.scopes) await scope.closeAll();
    this.closeSocket();
    this.releaseMemory();
    if (this.server.verbose) this.debug(`closed (${this.cause ?? '?'}); contexts open: ${this.server.stack.census().map((c) => `${c.layer} ${c.open}`).join(', ')}`);
  }

  /** Lets queued replies leave, then closes the socket: at once if the client is gone, else after they are sent or CLOSE_LINGER passed. */
  private closeSocket(): void {
    const s = this.socket;
    if (this.gone || s.destroyed) {
      this.dropSocket();
      return;
    }
    this.gone = true;
    const timer = setTimeout(() => s.destroy(), CLOSE_LINGER).unref();
    s.once('finish', () => {
      clearTimeout(timer);
      s.destroy();
    });
    s.end();
  }
}
