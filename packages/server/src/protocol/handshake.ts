import {
  IHAVEOPT,
  NBD_FLAG_FIXED_NEWSTYLE,
  NBD_FLAG_NO_ZEROES,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_DESCRIPTION,
  NBD_INFO_EXPORT,
  NBD_INFO_NAME,
  NBDMAGIC,
} from './constants.js';
import { decodeString, lengthPrefixed } from './options.js';
import { ProtocolError } from './requests.js';

/** The handshake flags this server knows: fixed newstyle, and no zeroes after NBD_OPT_EXPORT_NAME. */
export const HANDSHAKE_FLAGS = NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES;

/** The newstyle greeting: magic, IHAVEOPT, the handshake flags advertised. */
export function greeting(flags: number): Buffer {
  const b = Buffer.allocUnsafe(18);
  b.writeBigUInt64BE(NBDMAGIC, 0);
  b.writeBigUInt64BE(IHAVEOPT, 8);
  b.writeUInt16BE(flags, 16);
  return b;
}

/** The answer to NBD_OPT_EXPORT_NAME: size, transmission flags, and 124 zeroes unless the client set NO_ZEROES. */
export function exportNameReply(size: bigint, eflags: number, noZeroes: boolean): Buffer {
  const b = Buffer.alloc(noZeroes ? 10 : 134);
  b.writeBigUInt64BE(size, 0);
  b.writeUInt16BE(eflags, 8);
  return b;
}

/** NBD_INFO_EXPORT: size and transmission flags. */
export function infoExport(size: bigint, eflags: number): Buffer {
  const b = Buffer.allocUnsafe(12);
  b.writeUInt16BE(NBD_INFO_EXPORT, 0);
  b.writeBigUInt64BE(size, 2);
  b.writeUInt16BE(eflags, 10);
  return b;
}

/** NBD_INFO_NAME or NBD_INFO_DESCRIPTION: the type, then the text (no length: the reply's gives it). */
export function infoText(type: typeof NBD_INFO_NAME | typeof NBD_INFO_DESCRIPTION, text: string): Buffer {
  const t = Buffer.from(text, 'utf8');
  const b = Buffer.allocUnsafe(2 + t.length);
  b.writeUInt16BE(type, 0);
  t.copy(b, 2);
  return b;
}

/** NBD_INFO_BLOCK_SIZE: minimum, preferred and maximum block sizes. */
export function infoBlockSize(minimum: number, preferred: number, maximum: number): Buffer {
  const b = Buffer.allocUnsafe(14);
  b.writeUInt16BE(NBD_INFO_BLOCK_SIZE, 0);
  b.writeUInt32BE(minimum, 2);
  b.writeUInt32BE(preferred, 6);
  b.writeUInt32BE(maximum, 10);
  return b;
}

/** NBD_REP_SERVER's data: the export name (length-prefixed), then its description. */
export function serverReply(name: string, description: string): Buffer {
  return Buffer.concat([lengthPrefixed(name), Buffer.from(description, 'utf8')]);
}

/** NBD_REP_META_CONTEXT's data: the context id, then its name. */
export function metaContextReply(id: number, name: string): Buffer {
  const n = Buffer.from(name, 'utf8');
  const b = Buffer.allocUnsafe(4 + n.length);
  b.writeUInt32BE(id, 0);
  n.copy(b, 4);
  return b;
}

/** NBD_OPT_EXPORT_NAME's data, the bare name: a bad one ends the connection, as that option has no error reply. */
export function decodeExportName(data: Uint8Array): string {
  try {
    return decodeString(data, 'export name');
  } catch (e) {
    throw new ProtocolError(`NBD_OPT_EXPORT_NAME: ${(e as Error).message}`);
  }
}
