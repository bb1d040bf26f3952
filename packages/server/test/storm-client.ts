import { readFileSync } from 'node:fs';
import { RawClient } from './raw-client.js';
import { NBD_CMD_WRITE } from '../src/protocol/constants.js';


/** Opens a connection that enters transmission on the default export. */
export async function openExport(socket: string): Promise<RawClient> {
  let c: RawClient;
  for (let attempt = 0; ; attempt++) {
    try {
      c = await RawClient.connect(socket);
      break;
    } catch (e) {
      // The socket file appears at bind(), a moment before listen().
      if ((e as { code?: string }).code !== 'ECONNREFUSED' || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await c.handshake();
  const go = await c.go();
  if (go.type !== 1) throw new Error(`NBD_OPT_GO failed: 0x${go.type.toString(16)}`);
  return c;
}

/** Sends a write whose payload is `payload` itself (no copy), at `offset`. */
export function sendWrite(c: RawClient, cookie: bigint, offset: bigint, payload: Buffer): void {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(0x25609513, 0);
  h.writeUInt16BE(NBD_CMD_WRITE, 6);
  h.writeBigUInt64BE(cookie, 8);
  h.writeBigUInt64BE(offset, 16);
  h.writeUInt32BE(payload.length, 24);
  c.socket.write(h);
  c.socket.write(payload);
}

/** The server's resident set now and at its peak, in bytes, from /proc. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}
