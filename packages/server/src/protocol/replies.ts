import {
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_BLOCK_STATUS,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_NONE,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
  SIMPLE_REPLY_SIZE,
  STRUCTURED_REPLY_SIZE,
} from './constants.js';

/** Bytes before the data in a read reply: the simple header, or the structured header and offset. */
export function readReplyHeaderSize(structured: boolean): number {
  return structured ? STRUCTURED_REPLY_SIZE + 8 : SIMPLE_REPLY_SIZE;
}

/** Writes a simple reply header at the start of `b`. */
export function writeSimpleReply(b: Buffer, cookie: bigint, error: number): void {
  b.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
  b.writeUInt32BE(error, 4);
  b.writeBigUInt64BE(cookie, 8);
}

/** A simple reply with no payload. */
export function simpleReply(cookie: bigint, error: number): Buffer {
  const b = Buffer.allocUnsafe(SIMPLE_REPLY_SIZE);
  writeSimpleReply(b, cookie, error);
  return b;
}

/** Writes a structured reply chunk header at `at` in `b`. */
export function writeChunkHeader(b: Buffer, cookie: bigint, flags: number, type: number, length: number, at = 0): void {
  b.writeUInt32BE(NBD_STRUCTURED_REPLY_MAGIC, at);
  b.writeUInt16BE(flags, at + 4);
  b.writeUInt16BE(type, at + 6);
  b.writeBigUInt64BE(cookie, at + 8);
  b.writeUInt32BE(length, at + 16);
}

/**
 * Fills the header of a read reply whose data already sits in `b` after
 * {@link readReplyHeaderSize} bytes, so header and data go out in one write.
 */
export function writeReadReplyHeader(b: Buffer, structured: boolean, cookie: bigint, offset: bigint, count = b.length - readReplyHeaderSize(structured)): void {
  if (structured) {
    writeChunkHeader(b, cookie, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, 8 + count);
    b.writeBigUInt64BE(offset, STRUCTURED_REPLY_SIZE);
  } else {
    writeSimpleReply(b, cookie, 0);
  }
}

/** A structured NONE chunk with DONE: success of a command without payload. */
export function noneChunk(cookie: bigint): Buffer {
  const b = Buffer.allocUnsafe(STRUCTURED_REPLY_SIZE);
  writeChunkHeader(b, cookie, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, 0);
  return b;
}

/** A structured ERROR chunk with DONE, carrying `message` for the client to show. */
export function errorChunk(cookie: bigint, error: number, message: string): Buffer {
  const text = Buffer.from(message.slice(0, 1024), 'utf8').subarray(0, 4096);
  const b = Buffer.allocUnsafe(STRUCTURED_REPLY_SIZE + 6 + text.length);
  writeChunkHeader(b, cookie, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, 6 + text.length);
  b.writeUInt32BE(error, STRUCTURED_REPLY_SIZE);
  b.writeUInt16BE(text.length, STRUCTURED_REPLY_SIZE + 4);
  text.copy(b, STRUCTURED_REPLY_SIZE + 6);
  return b;
}

/** A BLOCK_STATUS chunk with DONE: `descriptors` are (length, flags) pairs for context `contextId`. */
export function blockStatusChunk(cookie: bigint, contextId: number, descriptors: readonly (readonly [number, number])[]): Buffer {
  const length = 4 + 8 * descriptors.length;
  const b = Buffer.allocUnsafe(STRUCTURED_REPLY_SIZE + length);
  writeChunkHeader(b, cookie, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, length);
  b.writeUInt32BE(contextId, STRUCTURED_REPLY_SIZE);
  let at = STRUCTURED_REPLY_SIZE + 4;
  for (const [len, flags] of descriptors) {
    b.writeUInt32BE(len, at);
    b.writeUInt32BE(flags, at + 4);
    at += 8;
  }
  return b;
}
