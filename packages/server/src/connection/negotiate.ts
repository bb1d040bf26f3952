import { errorCode, errorMessage, type Capabilities, type ClientInfo, type Concurrency, type DataMethods, type SendFrom } from '@nbdkit-ts/core';
import {
  BASE_ALLOCATION,
  BASE_ALLOCATION_ID,
  MAX_META_QUERIES,
  MAX_OPTIONS,
  MAX_REQUEST_SIZE,
  NBD_FLAG_C_FIXED_NEWSTYLE,
  NBD_FLAG_C_NO_ZEROES,
  NBD_FLAG_CAN_MULTI_CONN,
  NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_READ_ONLY,
  NBD_FLAG_ROTATIONAL,
  NBD_FLAG_SEND_CACHE,
  NBD_FLAG_SEND_DF,
  NBD_FLAG_SEND_FAST_ZERO,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_TRIM,
  NBD_FLAG_SEND_WRITE_ZEROES,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_DESCRIPTION,
  NBD_INFO_NAME,
  NBD_OPT_ABORT,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_GO,
  NBD_OPT_INFO,
  NBD_OPT_LIST,
  NBD_OPT_LIST_META_CONTEXT,
  NBD_OPT_SET_META_CONTEXT,
  NBD_OPT_STARTTLS,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_REP_ACK,
  NBD_REP_ERR_INVALID,
  NBD_REP_ERR_POLICY,
  NBD_REP_ERR_TLS_REQD,
  NBD_REP_ERR_TOO_BIG,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP,
  NBD_REP_INFO,
  NBD_REP_META_CONTEXT,
  NBD_REP_SERVER,
} from '../protocol/constants.js';
import { decodeExportName, exportNameReply, infoBlockSize, infoExport, infoText, metaContextReply, serverReply } from '../protocol/handshake.js';
import { InvalidOption, OptionData, optionReply, type OptionRequest } from '../protocol/options.js';
import { ProtocolError } from '../protocol/requests.js';
import type { LayerContext } from '../stack/layer-context.js';
import type { Scope } from '../stack/scope.js';
import { withDeadline } from '../stack/deadline.js';
import type { ServerState } from '../server-state.js';

/** What the handshake needs from the connection that owns the socket. */
export interface HandshakeIO {
  /** The next option, or undefined when the client went away. */
  nextOption(): Promise<OptionRequest | undefined>;
  send(buf: Uint8Array): void;
  /** Builds the scope of the connection once the export is known. */
  scopeFor(exportName: string, readonly: boolean): Scope;
  /** Runs the TLS handshake (after the ACK of NBD_OPT_STARTTLS); throws ProtocolError when it fails. */
  startTls(): Promise<void>;
  /** Whether the connection runs over TLS by now. */
  tls(): boolean;
  /** Set when the connection is refused (too many connections): every option gets NBD_REP_ERR_POLICY with this text. */
  readonly refusal: string | undefined;
}

/** Where the handshake ended: in transmission on an open export, or nowhere. */
export interface Negotiated {
  /** Where requests go: the top context, or its calls bounded by --request-timeout. */
  readonly top: DataMethods & SendFrom;
  /** The open context on the outermost layer. */
  readonly context: LayerContext;
  readonly exportName: string;
  readonly structured: boolean;
  /** Whether base:allocation was selected. */
  readonly blockStatus: boolean;
  readonly eflags: number;
  /** Set when a layer asked for a soft disconnect: every later request fails with ESHUTDOWN. */
  refusing: boolean;
}

/** The transmission flags an export advertises. */
export function transmissionFlags(c: Capabilities, structured: boolean, concurrency: Concurrency): number {
  let f = NBD_FLAG_HAS_FLAGS;
  if (!c.canWrite) f |= NBD_FLAG_READ_ONLY;
  if (c.canFlush) f |= NBD_FLAG_SEND_FLUSH;
  if (c.canFua !== 'none') f |= NBD_FLAG_SEND_FUA;
  if (c.isRotational) f |= NBD_FLAG_ROTATIONAL;
  if (c.canTrim) f |= NBD_FLAG_SEND_TRIM;
  if (c.canZero !== 'none') {
    f |= NBD_FLAG_SEND_WRITE_ZEROES;
    if (c.canFastZero) f |= NBD_FLAG_SEND_FAST_ZERO;
  }
  if (structured) f |= NBD_FLAG_SEND_DF;
  // One connection at a time cannot be multi-conn, whatever the layers say (as nbdkit).
  if (c.canMultiConn && concurrency !== 'serialize-connections') f |= NBD_FLAG_CAN_MULTI_CONN;
  if (c.canCache !== 'none') f |= NBD_FLAG_SEND_CACHE;
  return f;
}

/** Checks the client flags; throws ProtocolError on flags this server does not know. */
export function checkClientFlags(flags: number, advertised: number): { noZeroes: boolean } {
  // The client flags are the handshake flags' bits, echoed.
  if (flags & ~advertised & (NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) throw new ProtocolError(`client flags 0x${flags.toString(16)} that were not advertised`);
  if (flags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) throw new ProtocolError(`unknown client flags 0x${flags.toString(16)}`);
  if (advertised & NBD_FLAG_C_FIXED_NEWSTYLE && !(flags & NBD_FLAG_C_FIXED_NEWSTYLE)) throw new ProtocolError('client does not support fixed newstyle');
  return { noZeroes: (flags & NBD_FLAG_C_NO_ZEROES) !== 0 };
}

class OptionError extends Error {
  constructor(
    readonly reply: number,
    message: string,
  ) {
    super(message);
  }
}

/** What an option handler tells the loop: go on, or the handshake ended (with an export, or none). */
type Step = { readonly done: false } | { readonly done: true; readonly result: Negotiated | undefined };

const GO_ON: Step = { done: false };

/**
 * The option haggling phase of fixed newstyle negotiation: one handler per
 * option, and the state options build up (structured replies, the meta
 * context). The wire encoding is protocol/'s.
 */
class Negotiation {
  private structured = false;
  private meta: { exportName: string; on: boolean } | undefined;
  private clientInfo: ClientInfo | undefined;
  private readonly timeout: number;

  constructor(
    private readonly server: ServerState,
    private readonly io: HandshakeIO,
    private readonly noZeroes: boolean,
  ) {
    this.timeout = server.limits.requestTimeout;
  }

  /** Runs options until one ends the handshake; undefined when the client aborted or went away. */
  async run(): Promise<Negotiated | undefined> {
    const tlsRequired = this.server.tls?.mode === 'require';
    for (let count = 1; ; count++) {
      const req = await this.io.nextOption();
      if (req === undefined) return undefined;
      if (count > MAX_OPTIONS) throw new ProtocolError(`more than ${MAX_OPTIONS} options`);
      const { option } = req;
      const refusal = this.io.refusal;
      if (refusal !== undefined && option !== NBD_OPT_ABORT) {
        if (option === NBD_OPT_EXPORT_NAME) throw new ProtocolError(`NBD_OPT_EXPORT_NAME refused: ${refusal}`);
        this.reply(option, NBD_REP_ERR_POLICY, Buffer.from(refusal));
        continue;
      }
      if (tlsRequired && !this.io.tls() && option !== NBD_OPT_STARTTLS && option !== NBD_OPT_ABORT) {
        if (option === NBD_OPT_EXPORT_NAME) throw new ProtocolError('NBD_OPT_EXPORT_NAME without TLS, which --tls=require demands');
        this.reply(option, NBD_REP_ERR_TLS_REQD, Buffer.from('TLS is required: send NBD_OPT_STARTTLS first'));
        continue;
      }
      if (req.data === undefined) {
        this.reply(option, NBD_REP_ERR_TOO_BIG, Buffer.from(`option of ${req.length} bytes is too long`));
        continue;
      }
      const step = await this.handle(option, req.data);
      if (step.done) return step.result;
    }
  }

  /** Runs one option; its errors become error replies, except those that end the connection. */
  private async handle(option: number, data: Buffer): Promise<Step> {
    try {
      switch (option) {
        case NBD_OPT_EXPORT_NAME:
          return await this.exportName(data);
        case NBD_OPT_ABORT:
          this.reply(option, NBD_REP_ACK);
          return { done: true, result: undefined };
        case NBD_OPT_STARTTLS:
          await this.startTls(data);
          return GO_ON;
        case NBD_OPT_LIST:
          await this.list(data);
          return GO_ON;
        case NBD_OPT_STRUCTURED_REPLY:
          this.structuredReply(data);
          return GO_ON;
        case NBD_OPT_LIST_META_CONTEXT:
        case NBD_OPT_SET_META_CONTEXT:
          this.metaContext(option, data);
          return GO_ON;
        case NBD_OPT_INFO:
        case NBD_OPT_GO:
          return await this.infoOrGo(option, data);
        default:
          throw new OptionError(NBD_REP_ERR_UNSUP, `option ${option} is not supported`);
      }
    } catch (e) {
      if (e instanceof OptionError) this.reply(option, e.reply, Buffer.from(e.message));
      else if (e instanceof InvalidOption) this.reply(option, NBD_REP_ERR_INVALID, Buffer.from(e.message));
      else if (e instanceof ProtocolError) throw e;
      else {
        this.server.log.debug(`option ${option}: ${errorMessage(e)}`);
        this.reply(option, NBD_REP_ERR_UNKNOWN, Buffer.from(errorMessage(e)));
      }
      return GO_ON;
    }
  }

  private reply(option: number, type: number, data?: Uint8Array): void {
    this.io.send(optionReply(option, type, data));
  }

  /** The same object for the whole handshake (until TLS starts), so that layers may remember answers per client. */
  private client(): ClientInfo {
    const tls = this.io.tls();
    if (this.clientInfo?.tls !== tls) this.clientInfo = { readonly: this.server.readonly, tls };
    return this.clientInfo;
  }

  /** A call into the stack, bounded by --request-timeout. */
  private bounded<T>(what: string, p: Promise<T>, late?: (v: T) => void): Promise<T> {
    return this.timeout > 0 ? withDeadline(p, this.timeout, what, late) : p;
  }

  private async openExport(name: string): Promise<LayerContext> {
    const { server } = this;
    const exportName = name === '' ? await this.bounded('defaultExport', server.stack.defaultExport(0, this.client())) : name;
    try {
      const opening = server.stack.open(0, { exportName, readonly: server.readonly, scope: this.io.scopeFor(exportName, server.readonly) });
      return await this.bounded('open', opening, (late) => void late.close().catch(() => {}));
    } catch (e) {
      const code = errorCode(e);
      const policy = code === 'EPERM' || code === 'EACCES';
      const message = `open of export "${exportName}" failed: ${errorMessage(e)}`;
      if (policy) server.log.debug(message);
      else server.log.error(message);
      throw new OptionError(policy ? NBD_REP_ERR_POLICY : NBD_REP_ERR_UNKNOWN, `open "${exportName}": ${errorMessage(e)}`);
    }
  }

  private negotiated(top: LayerContext, name: string): Negotiated {
    const eflags = transmissionFlags(top.capabilities, this.structured, this.server.stack.concurrency);
    const blockStatus = this.meta?.on === true && this.meta.exportName === name;
    return { top, context: top, exportName: top.exportName, structured: this.structured, blockStatus, eflags, refusing: false };
  }

  private async exportName(data: Buffer): Promise<Step> {
    const name = decodeExportName(data);
    let top: LayerContext;
    try {
      top = await this.openExport(name);
    } catch (e) {
      throw new ProtocolError(`NBD_OPT_EXPORT_NAME: ${errorMessage(e)}`);
    }
    const result = this.negotiated(top, name);
    this.io.send(exportNameReply(top.capabilities.size, result.eflags, this.noZeroes));
    return { done: true, result };
  }

  private async startTls(data: Buffer): Promise<void> {
    if (this.server.tls === undefined) throw new OptionError(NBD_REP_ERR_UNSUP, 'TLS is not enabled on this server (--tls)');
    if (data.length !== 0) throw new OptionError(NBD_REP_ERR_INVALID, 'NBD_OPT_STARTTLS with data');
    if (this.io.tls()) throw new OptionError(NBD_REP_ERR_INVALID, 'TLS is already on');
    this.reply(NBD_OPT_STARTTLS, NBD_REP_ACK);
    await this.io.startTls();
    // What was negotiated in clear text does not carry over.
    this.structured = false;
    this.meta = undefined;
  }

  private async list(data: Buffer): Promise<void> {
    if (data.length !== 0) throw new OptionError(NBD_REP_ERR_INVALID, 'NBD_OPT_LIST with data');
    const exports = await this.bounded('listExports', this.server.stack.listExports(0, this.client()));
    for (const e of exports) this.reply(NBD_OPT_LIST, NBD_REP_SERVER, serverReply(e.name, e.description ?? ''));
    this.reply(NBD_OPT_LIST, NBD_REP_ACK);
  }

  private structuredReply(data: Buffer): void {
    if (data.length !== 0) throw new OptionError(NBD_REP_ERR_INVALID, 'NBD_OPT_STRUCTURED_REPLY with data');
    if (this.structured) throw new OptionError(NBD_REP_ERR_INVALID, 'structured replies already negotiated');
    if (this.server.noStructuredReplies) throw new OptionError(NBD_REP_ERR_UNSUP, 'structured replies are disabled (--no-sr)');
    this.structured = true;
    this.reply(NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK);
  }

  private metaContext(option: number, data: Buffer): void {
    if (!this.structured) throw new OptionError(NBD_REP_ERR_INVALID, 'meta contexts need structured replies');
    const d = new OptionData(data);
    const exportName = d.string('export name');
    const n = d.u32();
    if (n > MAX_META_QUERIES) throw new OptionError(NBD_REP_ERR_TOO_BIG, `more than ${MAX_META_QUERIES} queries`);
    const queries: string[] = [];
    for (let i = 0; i < n; i++) queries.push(d.string('query'));
    d.end();
    const set = option === NBD_OPT_SET_META_CONTEXT;
    const match = set ? queries.includes(BASE_ALLOCATION) : queries.length === 0 || queries.some((q) => q === 'base:' || q === BASE_ALLOCATION);
    if (match) this.reply(option, NBD_REP_META_CONTEXT, metaContextReply(BASE_ALLOCATION_ID, BASE_ALLOCATION));
    if (set) this.meta = { exportName, on: match };
    this.reply(option, NBD_REP_ACK);
  }

  private async infoOrGo(option: number, data: Buffer): Promise<Step> {
    const d = new OptionData(data);
    const name = d.string('export name');
    const n = d.u16();
    const infos: number[] = [];
    for (let i = 0; i < n; i++) infos.push(d.u16());
    d.end();
    const top = await this.openExport(name);
    const result = this.negotiated(top, name);
    const { capabilities } = top;
    this.reply(option, NBD_REP_INFO, infoExport(capabilities.size, result.eflags));
    if (infos.includes(NBD_INFO_NAME)) this.reply(option, NBD_REP_INFO, infoText(NBD_INFO_NAME, top.exportName));
    if (infos.includes(NBD_INFO_DESCRIPTION)) {
      const listed = async () => {
        const exports = await this.bounded('listExports', this.server.stack.listExports(0, this.client())).catch(() => []);
        return exports.find((e) => e.name === top.exportName)?.description;
      };
      const description = capabilities.description ?? (await listed());
      if (description !== undefined) this.reply(option, NBD_REP_INFO, infoText(NBD_INFO_DESCRIPTION, description));
    }
    // The block sizes of the layers as they report them, as nbdkit: a maximum above
    // MAX_REQUEST_SIZE is advertised, and reads and writes above it still fail (ENOMEM).
    // Without any from the layers, the server's own: any alignment, at most its largest request.
    const bs = capabilities.blockSize;
    if (bs !== undefined) {
      this.reply(option, NBD_REP_INFO, infoBlockSize(bs.minimum, bs.preferred, bs.maximum));
    } else if (infos.includes(NBD_INFO_BLOCK_SIZE)) {
      this.reply(option, NBD_REP_INFO, infoBlockSize(1, 4096, MAX_REQUEST_SIZE));
    }
    this.reply(option, NBD_REP_ACK);
    if (option === NBD_OPT_INFO) {
      await top.close();
      return GO_ON;
    }
    return { done: true, result };
  }
}

/**
 * The option haggling phase of fixed newstyle negotiation. Returns the open
 * export, or undefined when the client aborted or went away.
 */
export function negotiate(server: ServerState, io: HandshakeIO, noZeroes: boolean): Promise<Negotiated | undefined> {
  return new Negotiation(server, io, noZeroes).run();
}
