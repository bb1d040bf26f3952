import { ExtentList, Flag, errorCode, errorMessage, nbdError, toSafeNumber, type Flags, type MaybePromise } from '@nbdkit-ts/core';
import { blockDescriptors } from '../protocol/block-descriptors.js';
import { nbdErrno } from '../protocol/errno.js';
import {
  BASE_ALLOCATION_ID,
  MAX_REQUEST_SIZE,
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_CACHE,
  NBD_CMD_FLAG_DF,
  NBD_CMD_FLAG_FAST_ZERO,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLAG_NO_HOLE,
  NBD_CMD_FLAG_REQ_ONE,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_EINVAL,
  NBD_ESHUTDOWN,
  NBD_ENOMEM,
  NBD_FLAG_SEND_FAST_ZERO,
  NBD_FLAG_SEND_FUA,
} from '../protocol/constants.js';
import {
  blockStatusChunk,
  errorChunk,
  readReplyHeaderSize,
  simpleReply,
  writeReadReplyHeader,
} from '../protocol/replies.js';
import type { Request } from '../protocol/requests.js';
import type { Negotiated } from './negotiate.js';
import { isRecycled, type BufferPool } from '../limits/buffer-pool.js';
import type { ReplyWriter } from './reply-writer.js';
import { loadSendfile } from './sendfile.js';

const KNOWN_FLAGS = NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_DF | NBD_CMD_FLAG_REQ_ONE | NBD_CMD_FLAG_FAST_ZERO;

/** A request the protocol layer refuses before any layer sees it. */
class Invalid {
  constructor(
    readonly error: number,
    readonly message: string,
  ) {}
}

/**
 * Checks what the server checks before the stack (as nbdkit does): flags known and
 * allowed on the command and advertised, payload size, meta context. Range,
 * read-only and capabilities are checked by each layer.
 */
export function checkRequest(req: Request, n: Negotiated): Invalid | undefined {
  const { flags, type } = req;
  if (flags & ~KNOWN_FLAGS) return new Invalid(NBD_EINVAL, `unknown flags 0x${flags.toString(16)}`);
  if (flags & NBD_CMD_FLAG_NO_HOLE && type !== NBD_CMD_WRITE_ZEROES) return new Invalid(NBD_EINVAL, 'NO_HOLE needs WRITE_ZEROES');
  if (flags & NBD_CMD_FLAG_FAST_ZERO) {
    if (type !== NBD_CMD_WRITE_ZEROES) return new Invalid(NBD_EINVAL, 'FAST_ZERO needs WRITE_ZEROES');
    if (!(n.eflags & NBD_FLAG_SEND_FAST_ZERO)) return new Invalid(NBD_EINVAL, 'FAST_ZERO was not advertised');
  }
  if (flags & NBD_CMD_FLAG_DF) {
    if (type !== NBD_CMD_READ) return new Invalid(NBD_EINVAL, 'DF needs READ');
    if (!n.structured) return new Invalid(NBD_EINVAL, 'DF needs structured replies');
  }
  if (flags & NBD_CMD_FLAG_REQ_ONE && type !== NBD_CMD_BLOCK_STATUS) return new Invalid(NBD_EINVAL, 'REQ_ONE needs BLOCK_STATUS');
  if (flags & NBD_CMD_FLAG_FUA && !(n.eflags & NBD_FLAG_SEND_FUA)) return new Invalid(NBD_EINVAL, 'FUA was not advertised');
  switch (type) {
    case NBD_CMD_READ:
    case NBD_CMD_WRITE:
      if (req.count > MAX_REQUEST_SIZE) return new Invalid(NBD_ENOMEM, `request of ${req.count} bytes is larger than ${MAX_REQUEST_SIZE}`);
      return undefined;
    case NBD_CMD_FLUSH:
      if (req.offset !== 0n || req.count !== 0) return new Invalid(NBD_EINVAL, 'FLUSH with an offset or count');
      return undefined;
    case NBD_CMD_BLOCK_STATUS:
      if (!n.blockStatus) return new Invalid(NBD_EINVAL, 'BLOCK_STATUS without a meta context');
      return undefined;
    case NBD_CMD_TRIM:
    case NBD_CMD_CACHE:
    case NBD_CMD_WRITE_ZEROES:
      return undefined;
    default:
      return new Invalid(NBD_EINVAL, `unknown command ${type}`);
  }
}

/** Layer flags for a request's wire flags. */
function layerFlags(req: Request): Flags {
  const w = req.flags;
  let f = 0;
  if (w & NBD_CMD_FLAG_FUA) f |= Flag.FUA;
  if (req.type === NBD_CMD_WRITE_ZEROES && !(w & NBD_CMD_FLAG_NO_HOLE)) f |= Flag.MAY_TRIM;
  if (w & NBD_CMD_FLAG_FAST_ZERO) f |= Flag.FAST_ZERO;
  if (w & NBD_CMD_FLAG_REQ_ONE) f |= Flag.REQ_ONE;
  return f;
}

/**
 * Runs one request on the stack and writes its reply. Returns undefined when
 * the request finished synchronously, or a promise of its end.
 */
export function runRequest(req: Request, n: Negotiated, out: ReplyWriter, buffers: BufferPool, log: (m: string) => void): Promise<void> | undefined {
  if (n.refusing) {
    replyError(req, n, out, NBD_ESHUTDOWN, 'the connection is closing');
    return undefined;
  }
  const invalid = checkRequest(req, n);
  if (invalid !== undefined) {
    log(`request ${req.type} at ${req.offset} for ${req.count}: ${invalid.message}`);
    replyError(req, n, out, invalid.error, invalid.message);
    return undefined;
  }
  const top = n.top;
  const flags = layerFlags(req);
  let readBuf: Buffer | undefined;
  let extents: ExtentList | undefined;
  let call: MaybePromise<void>;
  try {
    switch (req.type) {
      case NBD_CMD_READ: {
        if (req.count >= SEND_FROM_FILE && out.fd !== undefined) return readFromFile(req, n, out, buffers, log, flags);
        const hdr = readReplyHeaderSize(n.structured);
        readBuf = buffers.reply(hdr + req.count);
        call = top.pread(readBuf.subarray(hdr), req.offset, flags);
        break;
      }
      case NBD_CMD_WRITE:
        call = top.pwrite(req.payload as Buffer, req.offset, flags);
        break;
      case NBD_CMD_FLUSH:
        call = top.flush(flags);
        break;
      case NBD_CMD_TRIM:
        call = top.trim(req.count, req.offset, flags);
        break;
      case NBD_CMD_WRITE_ZEROES:
        call = top.zero(req.count, req.offset, flags);
        break;
      case NBD_CMD_CACHE:
        call = top.cache(req.count, req.offset, flags);
        break;
      default: {
        // To the end of the export, as nbdkit: what the layers know past the request reaches the client.
        extents = new ExtentList(req.offset, n.context.capabilities.size);
        call = top.extents(req.count, req.offset, flags, extents);
        break;
      }
    }
  } catch (e) {
    fail(req, n, out, e, log);
    return undefined;
  }
  if (call === undefined) {
    reply(req, n, out, buffers, log, readBuf, extents);
    return undefined;
  }
  return call.then(
    () => reply(req, n, out, buffers, log, readBuf, extents),
    (e: unknown) => fail(req, n, out, e, log),
  );
}

/**
 * A read from this size on is offered to the layers to be sent from a file
 * (sendFrom). Smaller ones are read: waiting for the socket to take the
 * header before the data costs more than copying them.
 */
const SEND_FROM_FILE = 128 * 1024;

/**
 * A large read: sent from a file if the layers say where its bytes are
 * (sendFrom), else read with pread. Once the data have begun to leave, a
 * failure cannot be answered: the connection is dropped.
 */
async function readFromFile(req: Request, n: Negotiated, out: ReplyWriter, buffers: BufferPool, log: (m: string) => void, flags: Flags): Promise<void> {
  const sendfile = await loadSendfile();
  let sending: Promise<void> | undefined;
  let answered = false;
  if (sendfile !== undefined) {
    const send = (fd: number, position: bigint): Promise<void> => {
      if (sending !== undefined) return Promise.reject(nbdError('EINVAL', 'sendFrom: send called twice'));
      // The request was answered otherwise: an error, its deadline, or pread.
      if (answered) return Promise.reject(nbdError('ECANCELED', 'sendFrom: send called after the request was answered'));
      const header = Buffer.allocUnsafe(readReplyHeaderSize(n.structured));
      writeReadReplyHeader(header, n.structured, req.cookie, req.offset, req.count);
      sending = out.sendFile(header, fd, toSafeNumber(position, 'sendFrom position'), req.count, sendfile);
      return sending;
    };
    try {
      await n.top.sendFrom(req.count, req.offset, flags, send);
      await sending;
    } catch (e) {
      if (sending === undefined) {
        answered = true;
        fail(req, n, out, e, log);
        return;
      }
      log(`read at ${req.offset} for ${req.count}: cut short, dropping the connection: ${errorMessage(e)}`);
      out.abort();
      return;
    }
    if (sending !== undefined) return;
    answered = true;
  }
  const hdr = readReplyHeaderSize(n.structured);
  const readBuf = buffers.reply(hdr + req.count);
  try {
    await n.top.pread(readBuf.subarray(hdr), req.offset, flags);
  } catch (e) {
    fail(req, n, out, e, log);
    return;
  }
  reply(req, n, out, buffers, log, readBuf, undefined);
}

/**
 * Sends the reply of a request that succeeded, and gives its buffers back to
 * the pool: the layers are done with them. A failed request keeps them (a
 * call that timed out may still be using them); the garbage collector takes them.
 */
function reply(req: Request, n: Negotiated, out: ReplyWriter, buffers: BufferPool, log: (m: string) => void, readBuf: Buffer | undefined, extents: ExtentList | undefined): void {
  if (req.copied) buffers.release(req.payload as Buffer);
  if (readBuf !== undefined) {
    writeReadReplyHeader(readBuf, n.structured, req.cookie, req.offset);
    out.send(readBuf, isRecycled(readBuf.length) ? () => buffers.release(readBuf) : undefined);
  } else if (extents !== undefined) {
    replyExtents(req, extents, out, log);
  } else {
    out.send(simpleReply(req.cookie, 0));
  }
}

function replyExtents(req: Request, list: ExtentList, out: ReplyWriter, log: (m: string) => void): void {
  const descriptors = blockDescriptors(list.extents, req.count, (req.flags & NBD_CMD_FLAG_REQ_ONE) !== 0);
  if (descriptors.length === 0) {
    log(`block status at ${req.offset}: no extents were returned`);
    out.send(errorChunk(req.cookie, NBD_EINVAL, 'no extents were returned'));
    return;
  }
  out.send(blockStatusChunk(req.cookie, BASE_ALLOCATION_ID, descriptors));
}

function fail(req: Request, n: Negotiated, out: ReplyWriter, e: unknown, log: (m: string) => void): void {
  const message = errorMessage(e);
  log(`request ${req.type} at ${req.offset} for ${req.count}: ${errorCode(e)}: ${message}`);
  replyError(req, n, out, nbdErrno(errorCode(e), req.flags), message);
}

function replyError(req: Request, n: Negotiated, out: ReplyWriter, error: number, message: string): void {
  if (n.structured && (req.type === NBD_CMD_READ || req.type === NBD_CMD_BLOCK_STATUS)) {
    out.send(errorChunk(req.cookie, error, message));
  } else {
    out.send(simpleReply(req.cookie, error));
  }
}
