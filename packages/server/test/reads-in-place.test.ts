import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@nbdkit-ts/testing';
import { describe, expect, it } from 'vitest';
import { NBD_CMD_READ, NBD_CMD_WRITE } from '../src/protocol/constants.js';
import { createServer } from '../src/index.js';
import { memoryPlugin } from './memory-plugin.js';
import { RawClient } from './raw-client.js';

const MiB = 1024 * 1024;

/** Resolves once the socket has handed everything written to the kernel. */
async function flushed(c: RawClient): Promise<void> {
  while (c.socket.writableLength > 0) await new Promise((r) => c.socket.once('drain', r));
}

/** Lets the event loop run every callback already due (the server runs in this process). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

describe('large write payloads received in place', () => {
  it('a payload completed while replies pile up is served once they drain', async () => {
    let open = (): void => {};
    const gate = new Promise<void>((r) => (open = r));
    const { def, data } = memoryPlugin({ size: 16 * MiB, readGate: gate });
    const server = await createServer({ plugin: def });
    const dir = tempDir();
    const { socket } = await server.listen({ socket: join(dir, 's') });
    try {
      const c = await RawClient.connect(socket as string);
      await c.handshake();
      expect((await c.go()).type).toBe(1);
      // The client stops reading: replies stay queued in the server.
      c.socket.pause();
      for (let i = 1; i <= 6; i++) c.sendRequest(NBD_CMD_READ, BigInt(i), BigInt(i * MiB), MiB);
      const payload = Buffer.alloc(MiB, 0xa5);
      c.sendRequest(NBD_CMD_WRITE, 7n, 8n * BigInt(MiB), MiB, 0, payload.subarray(0, 900 * 1024));
      // More than a socket buffer went out: the server is receiving the payload in place.
      await flushed(c);
      await turns(3);
      // The last of the payload waits in the kernel while the reads answer:
      // 6 MiB of replies are queued when the server reads it.
      c.write(payload.subarray(900 * 1024));
      open();
      await turns(3);
      c.socket.resume();
      const cookies: bigint[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await c.readSimpleReply();
        expect(r.error).toBe(0);
        if (r.cookie !== 7n) await c.read(MiB);
        cookies.push(r.cookie);
      }
      expect(cookies.sort()).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n]);
      expect(data.subarray(8 * MiB, 9 * MiB).equals(payload)).toBe(true);
      // The connection reads on: the next request lands where the server said.
      c.sendRequest(NBD_CMD_READ, 8n, 8n * BigInt(MiB), 4096);
      expect(await c.readSimpleReply()).toEqual({ error: 0, cookie: 8n });
      expect((await c.read(4096)).equals(payload.subarray(0, 4096))).toBe(true);
      c.close();
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
