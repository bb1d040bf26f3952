import { IHAVEOPT } from '../src/protocol/constants.js';

/** A transmission request as a client puts it on the wire (the test kit's encoder). */
export { requestBytes as request } from '@nbdkit-ts/testing';

/** A handshake option as a client puts it on the wire. */
export function option(opt: number, data: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(IHAVEOPT, 0);
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(data.length, 12);
  return Buffer.concat([h, data]);
}
