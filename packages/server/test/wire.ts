import { IHAVEOPT, NBD_REQUEST_MAGIC } from '../src/protocol/constants.js';

/** A transmission request as a client puts it on the wire. */
export function request(type: number, cookie: bigint, offset: bigint, count: number, flags = 0, payload?: Buffer): Buffer {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(NBD_REQUEST_MAGIC, 0);
  h.writeUInt16BE(flags, 4);
  h.writeUInt16BE(type, 6);
  h.writeBigUInt64BE(cookie, 8);
  h.writeBigUInt64BE(offset, 16);
  h.writeUInt32BE(count, 24);
  return payload === undefined ? h : Buffer.concat([h, payload]);
}

/** A handshake option as a client puts it on the wire. */
export function option(opt: number, data: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(IHAVEOPT, 0);
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(data.length, 12);
  return Buffer.concat([h, data]);
}
