import type { Socket } from 'node:net';
import { errorMessage } from '@nbdkit-ts/core';
import { IHAVEOPT, MAX_OPTION_LENGTH, MAX_REQUEST_SIZE, NBD_CMD_DISC, NBDMAGIC, NBD_FLAG_FIXED_NEWSTYLE, NBD_FLAG_NO_ZEROES } from '../protocol/constants.js';
import { OptionParser } from '../protocol/options.js';
import { ProtocolError, RequestParser } from '../protocol/requests.js';
import type { Scope } from '../stack/scope.js';
import { checkClientFlags, negotiate, type Negotiated } from './negotiate.js';
import { ReplyWriter } from './reply-writer.js';
import { Serializer } from './serializer.js';
import type { ServerCore } from './server-core.js';
import { runRequest } from './transmission.js';

/** Requests in flight on one connection before the server stops reading from it. */
const MAX_IN_FLIGHT = 256;
/** Reply bytes queued on the socket before the server stops reading from it. */
const MAX_QUEUED_REPLIES = 32 * 1024 * 1024;

/**
 * One client connection: owns the socket, the state (handshake, then
 * transmission) and the write queue, and closes its contexts at the end.
 */
export class Connection {
  private readonly writer: ReplyWriter;
  private readonly abort = new AbortController();
  private readonly scopes: Scope[] = [];
  private options: OptionParser | undefined = new OptionParser(MAX_OPTION_LENGTH);
  private requests: RequestParser | undefined;
  private wake: (() => void) | undefined;
  private ended = false;
  private negotiated: Negotiated | undefined;
  private inFlight = 0;
  private stopping = false;
  private readonly lock: Serializer | undefined;
  private idle: (() => void) | undefined;
  /** Settles when the connection has closed its contexts. */
  readonly finished: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly core: ServerCore,
    readonly id: number,
  ) {
    this.writer = new ReplyWriter(socket);
    const c = core.stack.concurrency;
    // As nbdkit's thread models: each level includes the ones below it.
    this.lock = c === 'serialize-connections' || c === 'serialize-all-requests' ? core.requestLock : c === 'serialize-requests' ? new Serializer() : undefined;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('close', () => this.onEnd());
    socket.on('error', (e) => {
      this.debug(`socket: ${e.message}`);
      this.onEnd();
    });
    socket.on('drain', () => this.resume());
    this.finished = this.run().catch((e: unknown) => {
      if (e instanceof ProtocolError) this.debug(`protocol error: ${e.message}`);
      else core.log.error(`connection ${id}: ${errorMessage(e)}`);
    }).finally(() => this.teardown());
  }

  private debug(message: string): void {
    this.core.log.debug(`connection ${this.id}: ${message}`);
  }

  private onData(chunk: Buffer): void {
    if (this.requests !== undefined) {
      this.requests.push(chunk);
      this.pump();
    } else if (this.options !== undefined) {
      this.options.push(chunk);
      this.wake?.();
    }
  }

  private onEnd(): void {
    if (this.ended) return;
    this.ended = true;
    this.abort.abort();
    this.wake?.();
    this.checkIdle();
  }

  private async run(): Promise<void> {
    await this.core.stack.preconnect({ readonly: this.core.readonly, tls: false });
    const greeting = Buffer.allocUnsafe(18);
    greeting.writeBigUInt64BE(NBDMAGIC, 0);
    greeting.writeBigUInt64BE(IHAVEOPT, 8);
    greeting.writeUInt16BE(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES, 16);
    this.socket.write(greeting);
    const flagBytes = await this.waitFor(() => this.options?.takeRaw(4));
    if (flagBytes === undefined) return;
    const { noZeroes } = checkClientFlags(flagBytes.readUInt32BE(0));
    const n = await negotiate(
      this.core,
      {
        nextOption: () => this.waitFor(() => this.options?.next()),
        send: (b) => this.writer.send(b),
        scopeFor: (exportName, readonly) => this.scopeFor(exportName, readonly),
      },
      noZeroes,
    );
    if (n === undefined || this.ended) {
      await n?.top.close();
      return;
    }
    this.negotiated = n;
    this.debug(`transmission: export "${n.exportName}" size ${n.top.capabilities.size} flags 0x${n.eflags.toString(16)}`);
    const rest = (this.options as OptionParser).drain();
    this.options = undefined;
    this.requests = new RequestParser(MAX_REQUEST_SIZE);
    if (rest.length > 0) this.requests.push(rest);
    this.pump();
    await new Promise<void>((resolve) => {
      this.idle = resolve;
      this.checkIdle();
    });
  }

  /** Waits until `take` returns something or the client goes away. */
  private async waitFor<T>(take: () => T | undefined): Promise<T | undefined> {
    for (;;) {
      const v = take();
      if (v !== undefined) return v;
      if (this.ended || this.stopping) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  private scopeFor(exportName: string, readonly: boolean): Scope {
    const scope: Scope = {
      exportName,
      readonly,
      tls: false,
      signal: AbortSignal.any([this.abort.signal, this.core.signal]),
      open: new Set(),
      shared: false,
      log: this.core.log,
    };
    this.scopes.push(scope);
    return scope;
  }

  /** Parses and starts every complete request, until a limit says to wait. */
  private pump(): void {
    const parser = this.requests;
    const n = this.negotiated;
    if (parser === undefined || n === undefined) return;
    try {
      while (!this.stopping && this.inFlight < MAX_IN_FLIGHT && this.writer.pending < MAX_QUEUED_REPLIES) {
        const req = parser.next();
        if (req === undefined) break;
        if (req.type === NBD_CMD_DISC) {
          this.debug('client sent NBD_CMD_DISC');
          this.stop();
          break;
        }
        this.inFlight++;
        const started = this.lock === undefined ? runRequest(req, n, this.writer, this.log) : this.lock.run(() => runRequest(req, n, this.writer, this.log) ?? Promise.resolve());
        if (started === undefined) this.inFlight--;
        else void started.then(this.requestDone);
      }
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.debug(`protocol error: ${e.message}`);
      this.stop();
      this.socket.destroy();
      return;
    }
    if (this.stopping) return;
    if (this.inFlight >= MAX_IN_FLIGHT || this.writer.pending >= MAX_QUEUED_REPLIES) this.socket.pause();
    else this.socket.resume();
  }

  private readonly log = (m: string): void => this.debug(m);

  private readonly requestDone = (): void => {
    this.inFlight--;
    if (this.inFlight === 0) this.checkIdle();
    if (this.socket.isPaused()) this.pump();
  };

  private resume(): void {
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

  private checkIdle(): void {
    if (this.idle !== undefined && this.inFlight === 0 && (this.stopping || this.ended)) this.idle();
  }

  private async teardown(): Promise<void> {
    this.abort.abort();
    if (!this.socket.destroyed) this.socket.end();
    await this.negotiated?.top.close().catch((e: unknown) => this.core.log.error(`connection ${this.id}: close: ${errorMessage(e)}`));
    for (const scope of this.scopes) {
      for (const ctx of [...scope.open]) {
        await ctx.close().catch((e: unknown) => this.core.log.error(`connection ${this.id}: close: ${errorMessage(e)}`));
      }
    }
    this.debug('closed');
  }
}
      connectionId: this.id,
