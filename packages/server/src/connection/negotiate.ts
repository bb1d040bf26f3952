import { errorCode, errorMessage, type Capabilities, type Concurrency, type DataMethods } from '@nbdkit-ts/core';
import {
  BASE_ALLOCATION,
  BASE_ALLOCATION_ID,
  MAX_META_QUERIES,
  MAX_OPTIONS,
  MAX_REQUEST_SIZE,
  MAX_STRING_LENGTH,
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
  NBD_INFO_EXPORT,
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
import { InvalidOption, lengthPrefixed, OptionData, optionReply, type OptionRequest } from '../protocol/options.js';
import { ProtocolError } from '../protocol/requests.js';
import type { LayerContext } from '../stack/layer-context.js';
import type { Scope } from '../stack/scope.js';
import { withDeadline } from './deadline.js';
import type { ServerCore } from './server-core.js';

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
  readonly top: DataMethods;
  /** The open context on the outermost layer. */
  readonly context: LayerContext;
  readonly exportName: string;
  readonly structured: boolean;
  /** Whether base:allocation was selected. */
  readonly blockStatus: boolean;
  readonly eflags: number;
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
export function checkClientFlags(flags: number): { noZeroes: boolean } {
  if (flags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) throw new ProtocolError(`unknown client flags 0x${flags.toString(16)}`);
  if (!(flags & NBD_FLAG_C_FIXED_NEWSTYLE)) throw new ProtocolError('client does not support fixed newstyle');
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

/**
 * The option haggling phase of fixed newstyle negotiation. Returns the open
 * export, or undefined when the client aborted or went away.
 */
export async function negotiate(core: ServerCore, io: HandshakeIO, noZeroes: boolean): Promise<Negotiated | undefined> {
  const client = () => ({ readonly: core.readonly, tls: io.tls() });
  let structured = false;
  let meta: { exportName: string; on: boolean } | undefined;
  const reply = (option: number, type: number, data?: Uint8Array) => io.send(optionReply(option, type, data));
  const timeout = core.limits.requestTimeout;
  /** A call into the stack, bounded by --request-timeout. */
  const bounded = <T>(what: string, p: Promise<T>, late?: (v: T) => void): Promise<T> => (timeout > 0 ? withDeadline(p, timeout, what, late) : p);

  const resolveName = async (name: string) => (name === '' ? bounded('defaultExport', core.stack.defaultExport(0, client())) : name);
  const openExport = async (name: string): Promise<LayerContext> => {
    const exportName = await resolveName(name);
    try {
      const opening = core.stack.open(0, { exportName, readonly: core.readonly, scope: io.scopeFor(exportName, core.readonly) });
      return await bounded('open', opening, (late) => void late.close().catch(() => {}));
    } catch (e) {
      const code = errorCode(e);
      const policy = code === 'EPERM' || code === 'EACCES';
      const message = `open of export "${exportName}" failed: ${errorMessage(e)}`;
      if (policy) core.log.debug(message);
      else core.log.error(message);
      throw new OptionError(policy ? NBD_REP_ERR_POLICY : NBD_REP_ERR_UNKNOWN, `open "${exportName}": ${errorMessage(e)}`);
    }
  };
  const tlsRequired = core.tls?.mode === 'require';

  for (let count = 1; ; count++) {
    const req = await io.nextOption();
    if (req === undefined) return undefined;
    if (count > MAX_OPTIONS) throw new ProtocolError(`more than ${MAX_OPTIONS} options`);
    const { option } = req;
    if (io.refusal !== undefined && option !== NBD_OPT_ABORT) {
      if (option === NBD_OPT_EXPORT_NAME) throw new ProtocolError(`NBD_OPT_EXPORT_NAME refused: ${io.refusal}`);
      reply(option, NBD_REP_ERR_POLICY, Buffer.from(io.refusal));
      continue;
    }
    if (tlsRequired && !io.tls() && option !== NBD_OPT_STARTTLS && option !== NBD_OPT_ABORT) {
      if (option === NBD_OPT_EXPORT_NAME) throw new ProtocolError('NBD_OPT_EXPORT_NAME without TLS, which --tls=require demands');
      reply(option, NBD_REP_ERR_TLS_REQD, Buffer.from('TLS is required: send NBD_OPT_STARTTLS first'));
      continue;
    }
    if (req.data === undefined) {
      reply(option, NBD_REP_ERR_TOO_BIG, Buffer.from(`option of ${req.length} bytes is too long`));
      continue;
    }
    const data = req.data;
    try {
      switch (option) {
        case NBD_OPT_EXPORT_NAME: {
          const name = decodeName(data);
          let top: LayerContext;
          try {
            top = await openExport(name);
          } catch (e) {
            throw new ProtocolError(`NBD_OPT_EXPORT_NAME: ${errorMessage(e)}`);
          }
          const eflags = transmissionFlags(top.capabilities, structured, core.stack.concurrency);
          const b = Buffer.alloc(noZeroes ? 10 : 134);
          b.writeBigUInt64BE(top.capabilities.size, 0);
          b.writeUInt16BE(eflags, 8);
          io.send(b);
          return { top, context: top, exportName: top.exportName, structured, blockStatus: meta?.on === true && meta.exportName === name, eflags };
        }
        case NBD_OPT_ABORT:
          reply(option, NBD_REP_ACK);
          return undefined;
        case NBD_OPT_STARTTLS:
          if (core.tls === undefined) throw new OptionError(NBD_REP_ERR_UNSUP, 'TLS is not enabled on this server (--tls)');
          if (data.length !== 0) throw new OptionError(NBD_REP_ERR_INVALID, 'NBD_OPT_STARTTLS with data');
          if (io.tls()) throw new OptionError(NBD_REP_ERR_INVALID, 'TLS is already on');
          reply(option, NBD_REP_ACK);
          await io.startTls();
          // What was negotiated in clear text does not carry over.
          structured = false;
          meta = undefined;
          break;
        case NBD_OPT_LIST: {
          if (data.length !== 0) throw new OptionError(NBD_REP_ERR_INVALID, 'NBD_OPT_LIST with data');
          const exports = await bounded('listExports', core.stack.listExports(0, client()));
          for (const e of exports) {
            const desc = Buffer.from(e.description ?? '', 'utf8');
            reply(option, NBD_REP_SERVER, Buffer.concat([lengthPrefixed(e.name), desc]));
          }
          reply(option, NBD_REP_ACK);
          break;
        }
        case NBD_OPT_STRUCTURED_REPLY:
          if (data.length !== 0) throw new OptionError(NBD_REP_ERR_INVALID, 'NBD_OPT_STRUCTURED_REPLY with data');
          if (structured) throw new OptionError(NBD_REP_ERR_INVALID, 'structured replies already negotiated');
          structured = true;
          reply(option, NBD_REP_ACK);
          break;
        case NBD_OPT_LIST_META_CONTEXT:
        case NBD_OPT_SET_META_CONTEXT: {
          if (!structured) throw new OptionError(NBD_REP_ERR_INVALID, 'meta contexts need structured replies');
          const d = new OptionData(data);
          const exportName = d.string('export name');
          const n = d.u32();
          if (n > MAX_META_QUERIES) throw new OptionError(NBD_REP_ERR_TOO_BIG, `more than ${MAX_META_QUERIES} queries`);
          const queries: string[] = [];
          for (let i = 0; i < n; i++) queries.push(d.string('query'));
          d.end();
          const set = option === NBD_OPT_SET_META_CONTEXT;
          const match = set
            ? queries.includes(BASE_ALLOCATION)
            : queries.length === 0 || queries.some((q) => q === 'base:' || q === BASE_ALLOCATION);
          if (match) reply(option, NBD_REP_META_CONTEXT, Buffer.concat([u32(BASE_ALLOCATION_ID), Buffer.from(BASE_ALLOCATION)]));
          if (set) meta = { exportName, on: match };
          reply(option, NBD_REP_ACK);
          break;
        }
        case NBD_OPT_INFO:
        case NBD_OPT_GO: {
          const d = new OptionData(data);
          const name = d.string('export name');
          const n = d.u16();
          const infos: number[] = [];
          for (let i = 0; i < n; i++) infos.push(d.u16());
          d.end();
          const top = await openExport(name);
          const eflags = transmissionFlags(top.capabilities, structured, core.stack.concurrency);
          const exp = Buffer.allocUnsafe(12);
          exp.writeUInt16BE(NBD_INFO_EXPORT, 0);
          exp.writeBigUInt64BE(top.capabilities.size, 2);
          exp.writeUInt16BE(eflags, 10);
          reply(option, NBD_REP_INFO, exp);
          if (infos.includes(NBD_INFO_NAME)) reply(option, NBD_REP_INFO, Buffer.concat([u16(NBD_INFO_NAME), Buffer.from(top.exportName)]));
          if (infos.includes(NBD_INFO_DESCRIPTION)) {
            const exports = await bounded('listExports', core.stack.listExports(0, client())).catch(() => []);
            const description = exports.find((e) => e.name === top.exportName)?.description;
            if (description !== undefined) reply(option, NBD_REP_INFO, Buffer.concat([u16(NBD_INFO_DESCRIPTION), Buffer.from(description)]));
          }
          const bs = top.capabilities.blockSize;
          if (bs !== undefined || infos.includes(NBD_INFO_BLOCK_SIZE)) {
            const b = Buffer.allocUnsafe(14);
            b.writeUInt16BE(NBD_INFO_BLOCK_SIZE, 0);
            b.writeUInt32BE(bs?.minimum ?? 1, 2);
            b.writeUInt32BE(bs?.preferred ?? 4096, 6);
            b.writeUInt32BE(Math.min(bs?.maximum ?? MAX_REQUEST_SIZE, MAX_REQUEST_SIZE), 10);
            reply(option, NBD_REP_INFO, b);
          }
          reply(option, NBD_REP_ACK);
          if (option === NBD_OPT_INFO) {
            await top.close();
            break;
          }
          const blockStatus = meta?.on === true && meta.exportName === name;
          return { top, context: top, exportName: top.exportName, structured, blockStatus, eflags };
        }
        default:
          throw new OptionError(NBD_REP_ERR_UNSUP, `option ${option} is not supported`);
      }
    } catch (e) {
      if (e instanceof OptionError) {
        reply(option, e.reply, Buffer.from(e.message));
      } else if (e instanceof InvalidOption) {
        reply(option, NBD_REP_ERR_INVALID, Buffer.from(e.message));
      } else if (e instanceof ProtocolError) {
        throw e;
      } else {
        core.log.debug(`option ${option}: ${errorMessage(e)}`);
        reply(option, NBD_REP_ERR_UNKNOWN, Buffer.from(errorMessage(e)));
      }
    }
  }
}

function decodeName(data: Buffer): string {
  if (data.length > MAX_STRING_LENGTH) throw new ProtocolError(`export name longer than ${MAX_STRING_LENGTH} bytes`);
  return new TextDecoder('utf-8', { fatal: false }).decode(data);
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n, 0);
  return b;
}
