import type { Socket } from 'node:net';
import { errorMessage } from '@nbdkit-ts/core';
import { IHAVEOPT, MAX_OPTION_LENGTH, MAX_REQUEST_SIZE, REQUEST_SIZE, NBD_CMD_DISC, NBD_CMD_READ, NBDMAGIC, NBD_FLAG_FIXED_NEWSTYLE, NBD_FLAG_NO_ZEROES } from '../protocol/constants.js';
import { OptionParser } from '../protocol/options.js';
import { ProtocolError, RequestParser, type Request } from '../protocol/requests.js';
import type { Scope } from '../stack/scope.js';
import { DeadlineCalls, withDeadline } from './deadline.js';
import { BufferAccount, type Charge } from './memory.js';
import { checkClientFlags, negotiate, type Negotiated } from './negotiate.js';
import { ReplyWriter } from './reply-writer.js';
import { Serializer } from './serializer.js';
import type { ServerCore } from './server-core.js';
import { startTls } from './tls.js';
import { payloadBuffer, POOL_FROM, ReceiveBuffer } from './buffers.js';
import { readInPlace } from './reads-in-place.js';
import { runRequest } from './transmission.js';

/** Requests in flight on one connection before the server stops reading from it. */
const MAX_IN_FLIGHT = 256;
/**
 * Reply bytes queued on the socket before the server stops reading from it:
 * many times what the kernel's socket buffer takes, so the client always
 * has data to read, and no more (every queued byte is a buffer held).
 */
const MAX_QUEUED_REPLIES = 4 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const NO_CHARGE: Charge = { own: 0, pooled: 0 };

/**
 * One client connection: owns the socket (plain, then TLS after
 * NBD_OPT_STARTTLS), the state (handshake, then transmission) and the write
 * queue, and closes its contexts at the end.
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
  private readonly abort = new AbortController();
  private readonly scopes: Scope[] = [];
  private options: OptionParser | undefined = new OptionParser(MAX_OPTION_LENGTH);
  private requests: RequestParser | undefined;
  private wake: (() => void) | undefined;
  private ended = false;
  private negotiated: Negotiated | undefined;
  private inFlight = 0;
  private stopping = false;
  private tls = false;
  private readonly lock: Serializer | undefined;
  private idle: (() => void) | undefined;
  private readonly memory: BufferAccount;
  /** The charge for the payload of the write being received. */
  private payloadCharge: Charge | undefined;
  /** A request taken from the parser that waits for its buffer bytes. */
  private held: Request | undefined;
  /** Where socket reads land when they are read in place (see {@link readTarget}). */
  private readonly receive = new ReceiveBuffer();
  /** Whether the buffer of the read under way is a write payload's rather than {@link receive}'s. */
  private readingPayload = false;
  /** Settles when the connection has closed its contexts. */
  readonly finished: Promise<void>;

  constructor(
    socket: Socket,
    private readonly core: ServerCore,
    readonly id: number,
    /** Set for a connection over --max-connections: it is answered with this and served nothing. */
    private readonly refusal?: string,
  ) {
    // Without TLS, reads land where the connection says: a large write's
    // payload straight in its buffer. A socket that may turn TLS is read as usual.
    this.socket = (core.tls === undefined && refusal === undefined ? readInPlace(socket, this.readTarget) : undefined) ?? socket;
    this.writer = new ReplyWriter(this.socket);
    this.memory = new BufferAccount(core.memory, core.limits.maxConnectionBuffer);
    const c = core.stack.concurrency;
    // As nbdkit's thread models: each level includes the ones below it.
    this.lock = c === 'serialize-connections' || c === 'serialize-all-requests' ? core.requestLock : c === 'serialize-requests' ? new Serializer() : undefined;
    this.socket.setNoDelay(true);
    this.attach(this.socket);
    this.socket.pause();
    this.finished = this.run()
      .catch((e: unknown) => {
        if (e instanceof ProtocolError) this.debug(`protocol error: ${e.message}`);
        else core.log.error(`connection ${id}: ${errorMessage(e)}`);
      })
      .finally(() => this.teardown());
  }

  private debug(message: string): void {
    this.core.log.debug(`connection ${this.id}: ${message}`);
  }

  private attach(socket: Socket): void {
    socket.on('data', this.onData).on('end', this.onEnd).on('close', this.onEnd).on('error', this.onError).on('drain', this.onDrain);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onData).off('end', this.onEnd).off('close', this.onEnd).off('error', this.onError).off('drain', this.onDrain);
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
    this.onEnd();
  };

  private readonly onEnd = (): void => {
    if (this.ended) return;
    this.ended = true;
    this.abort.abort();
    this.memory.close();
    if (this.payloadCharge !== undefined) this.memory.release(this.payloadCharge);
    this.payloadCharge = undefined;
    this.held = undefined;
    this.wake?.();
    this.checkIdle();
  };

  private readonly onDrain = (): void => {
    this.memory.sent(this.writer.pending);
    if (this.socket.isPaused()) this.pump();
  };

  private async run(): Promise<void> {
    const limit = this.core.limits.handshakeTimeout;
    const timer = limit > 0 ? setTimeout(() => this.handshakeExpired(limit), limit) : undefined;
    let n: Negotiated | undefined;
    try {
      n = await this.handshake();
    } finally {
      clearTimeout(timer);
    }
    if (n === undefined) return;
    if (this.ended || this.stopping) {
      await n.context.close();
      return;
    }
    const timeout = this.core.limits.requestTimeout;
    this.negotiated = timeout > 0 ? { ...n, top: new DeadlineCalls(n.context, timeout, (call) => this.requestExpired(call)) } : n;
    this.debug(`transmission${this.tls ? ' over TLS' : ''}: export "${n.exportName}" size ${n.context.capabilities.size} flags 0x${n.eflags.toString(16)}`);
    const rest = (this.options as OptionParser).drain();
    this.options = undefined;
    this.requests = new RequestParser(MAX_REQUEST_SIZE, payloadBuffer, POOL_FROM);
    if (rest.length > 0) this.requests.push(rest);
    this.pump();
    await new Promise<void>((resolve) => {
      this.idle = resolve;
      this.checkIdle();
    });
  }

  private async handshake(): Promise<Negotiated | undefined> {
    if (this.refusal === undefined) {
      const connecting = this.core.stack.preconnect({ readonly: this.core.readonly, tls: false });
      const timeout = this.core.limits.requestTimeout;
      await (timeout > 0 ? withDeadline(connecting, timeout, 'preconnect') : connecting);
    }
    const greeting = Buffer.allocUnsafe(18);
    greeting.writeBigUInt64BE(NBDMAGIC, 0);
    greeting.writeBigUInt64BE(IHAVEOPT, 8);
    greeting.writeUInt16BE(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES, 16);
    this.socket.write(greeting);
    const flagBytes = await this.waitFor(() => this.options?.takeRaw(4));
    if (flagBytes === undefined) return undefined;
    const { noZeroes } = checkClientFlags(flagBytes.readUInt32BE(0));
    return negotiate(
      this.core,
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

  private handshakeExpired(ms: number): void {
    if (this.negotiated !== undefined || this.ended) return;
    this.debug(`handshake not finished within ${ms / 1000} s: closing`);
    this.socket.destroy();
    this.onEnd();
  }

  private requestExpired(call: string): void {
    this.core.log.error(`connection ${this.id}: ${call}: no answer within ${this.core.limits.requestTimeout / 1000} s (--request-timeout): the request fails with EIO`);
  }

  /** Waits until `take` returns something or the client goes away; reads the socket only meanwhile. */
  private async waitFor<T>(take: () => T | undefined): Promise<T | undefined> {
    for (;;) {
      const v = take();
      if (v !== undefined) return v;
      if (this.ended || this.stopping) return undefined;
      this.socket.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
      this.socket.pause();
    }
  }

  private async startTls(): Promise<void> {
    const setup = this.core.tls;
    const raw = this.socket;
    if (setup === undefined || this.options === undefined) throw new ProtocolError('TLS is not set up');
    // Whatever the client sent before the handshake was not protected: refuse it.
    if (this.options.buffered > 0 || raw.readableLength > 0) throw new ProtocolError('data after NBD_OPT_STARTTLS before the TLS handshake');
    // Let the ACK reach the kernel before the socket changes hands.
    await new Promise<void>((resolve) => raw.write(EMPTY, () => resolve()));
    if (raw.destroyed || this.ended) throw new ProtocolError('the client went away before the TLS handshake');
    this.detach(raw);
    raw.on('error', this.onError).on('close', this.onEnd);
    const secure = await startTls(raw, setup);
    this.socket = secure;
    this.writer = new ReplyWriter(secure);
    this.attach(secure);
    secure.pause();
    this.tls = true;
    this.options = new OptionParser(MAX_OPTION_LENGTH);
    this.debug(`TLS: ${secure.getProtocol() ?? ''} ${secure.getCipher().name}`);
  }

  private scopeFor(exportName: string, readonly: boolean): Scope {
    const scope: Scope = {
      exportName,
      readonly,
      tls: this.tls,
      signal: AbortSignal.any([this.abort.signal, this.core.signal]),
      open: new Set(),
      shared: false,
      connectionId: this.id,
      log: this.core.log,
    };
    this.scopes.push(scope);
    return scope;
  }

  /** Buffer bytes a request holds while it runs: a write's payload, a read's data. */
  private static bytesOf(req: Request): number {
    if (req.payload !== undefined) return req.payload.length;
    return req.type === NBD_CMD_READ && req.count <= MAX_REQUEST_SIZE ? req.count : 0;
  }

  /** Parses and starts every complete request, until a limit says to wait. */
  private pump(): void {
    const parser = this.requests;
    const n = this.negotiated;
    if (parser === undefined || n === undefined) return;
    this.memory.sent(this.writer.pending);
    try {
      while (!this.stopping && this.inFlight < MAX_IN_FLIGHT && this.writer.pending < MAX_QUEUED_REPLIES && !this.memory.waiting) {
        const req = this.held ?? parser.next();
        this.held = undefined;
        if (req === undefined) {
          this.chargePayload(parser.awaitedPayload);
          break;
        }
        if (req.type === NBD_CMD_DISC) {
          this.debug('client sent NBD_CMD_DISC');
          this.stop();
          break;
        }
        let charge = this.payloadCharge;
        this.payloadCharge = undefined;
        if (charge === undefined) {
          const bytes = Connection.bytesOf(req);
          // A payload that arrived whole with its header is in memory already.
          charge = req.payload !== undefined ? this.memory.force(bytes) : this.memory.tryCharge(bytes);
          if (charge === undefined) {
            this.held = req;
            this.memory.wait(bytes, (c) => {
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
      this.stop();
      this.socket.destroy();
      return;
    }
    if (this.stopping) return;
    const busy = this.inFlight >= MAX_IN_FLIGHT || this.writer.pending >= MAX_QUEUED_REPLIES || this.memory.waiting || this.held !== undefined;
    if (busy) this.socket.pause();
    else this.socket.resume();
  }

  /** Charges the payload of the write being received before more of it is read. */
  private chargePayload(bytes: number): void {
    if (bytes === 0 || this.payloadCharge !== undefined) return;
    const c = this.memory.tryCharge(bytes);
    if (c !== undefined) {
      this.payloadCharge = c;
      return;
    }
    this.memory.wait(bytes, (granted) => {
      this.payloadCharge = granted;
      this.pump();
    });
  }

  private start(req: Request, n: Negotiated, charge: Charge): void {
    this.inFlight++;
    const started = this.lock === undefined ? runRequest(req, n, this.writer, this.log) : this.lock.run(() => runRequest(req, n, this.writer, this.log) ?? Promise.resolve());
    const isRead = req.type === NBD_CMD_READ;
    if (started === undefined) this.requestDone(charge, isRead);
    else if (charge.own === 0 && charge.pooled === 0) void started.then(this.uncharged);
    else void started.then(() => this.requestDone(charge, isRead));
  }

  private readonly log = (m: string): void => this.debug(m);

  private readonly uncharged = (): void => this.requestDone(NO_CHARGE, false);

  private requestDone(charge: Charge, isRead: boolean): void {
    this.inFlight--;
    if (isRead) this.memory.toReply(charge);
    else this.memory.release(charge);
    if (this.inFlight === 0) this.checkIdle();
    if (this.socket.isPaused()) this.pump();
  }

  /** Stops taking requests; the connection ends once those in flight are answered. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.socket.pause();
    this.wake?.();
    this.checkIdle();
  }

  /** Drops the connection now, whatever is in flight (the shutdown deadline passed). */
  kill(): void {
    this.stop();
    this.socket.destroy();
    this.onEnd();
    this.idle?.();
  }

  private checkIdle(): void {
    if (this.idle !== undefined && this.inFlight === 0 && (this.stopping || this.ended)) this.idle();
  }

  private async teardown(): Promise<void> {
    this.onEnd();
    if (!this.socket.destroyed) this.socket.end();
    const close = (ctx: { close(): Promise<void> }) => ctx.close().catch((e: unknown) => this.core.log.error(`connection ${this.id}: close: ${errorMessage(e)}`));
    if (this.negotiated !== undefined) await close(this.negotiated.context);
    for (const scope of this.scopes) {
      for (const ctx of [...scope.open]) await close(ctx);
    }
    this.debug('closed');
  }
}
