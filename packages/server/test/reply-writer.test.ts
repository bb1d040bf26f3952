import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '@nbdkit-ts/testing';
import { describe, expect, it } from 'vitest';
import { ReplyWriter } from '../src/connection/reply-writer.js';

const KiB = 1024;

/** A connected pair of unix sockets: the accepted end (for the writer) and the client's. */
async function socketPair(): Promise<{ server: Socket; client: Socket; close: () => void }> {
  const path = join(tempDir(), 's');
  const listener = createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => listener.listen(path, r));
  const accepted = new Promise<Socket>((r) => listener.once('connection', r));
  const client = connect(path);
  client.pause();
  const server = await accepted;
  return {
    server,
    client,
    close: () => {
      server.destroy();
      client.destroy();
      listener.close();
    },
  };
}

/** Reads `n` bytes from a paused socket. */
async function readAll(s: Socket, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  s.on('data', (c: Buffer) => {
    chunks.push(c);
    got += c.length;
  });
  s.resume();
  while (got < n) await new Promise((r) => s.once('data', r));
  return Buffer.concat(chunks).subarray(0, n);
}

/** Reply number i: 64 KiB of a byte that tells it from its neighbours, its number first. */
function reply(i: number): Buffer {
  const b = Buffer.alloc(64 * KiB, i % 251);
  b.writeUInt32BE(i, 0);
  return b;
}

describe('ReplyWriter', () => {
  it('replies arrive whole and in order, with their callbacks, beyond what the kernel takes at once', async () => {
    const { server, client, close } = await socketPair();
    try {
      const writer = new ReplyWriter(server);
      const written: number[] = [];
      // 200 replies of 64 KiB over several turns, to a client that does not read yet: most wait.
      for (let turn = 0; turn < 4; turn++) {
        for (let i = turn * 50; i < (turn + 1) * 50; i++) writer.send(reply(i), () => written.push(i));
        await new Promise((r) => setImmediate(r));
        expect(writer.pending).toBeGreaterThan(0);
      }
      const all = await readAll(client, 200 * 64 * KiB);
      for (let i = 0; i < 200; i++) expect(all.subarray(i * 64 * KiB, (i + 1) * 64 * KiB).equals(reply(i))).toBe(true);
      while (written.length < 200) await new Promise((r) => setImmediate(r));
      expect(written).toEqual([...Array(200).keys()]);
      expect(writer.pending).toBe(0);
    } finally {
      close();
    }
  });

  it('replies to a destroyed socket are dropped, their callbacks run', async () => {
    const { server, close } = await socketPair();
    try {
      const writer = new ReplyWriter(server);
      let done = 0;
      server.destroy();
      writer.send(Buffer.from('late'), () => done++);
      expect(done).toBe(1);
    } finally {
      close();
    }
  });
});
