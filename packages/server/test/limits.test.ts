import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdsh, run, startServer, type ServerProcess } from '@nbdkit-ts/testing';
import { RawClient } from './raw-client.js';
import { memoryOf, openExport, sendWrite } from './storm-client.js';

const SINK = join(import.meta.dirname, 'layers/sink-plugin.js');
const MiB = 1024 * 1024;

describe('a client that stalls the handshake', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer(['--handshake-timeout=1', SINK]);
  });
  afterAll(async () => {
    await server.stop();
  });

  it('is dropped when it sends nothing', async () => {
    const start = Date.now();
    const c = await RawClient.connect(server.socket);
    await c.read(18);
    await c.waitClosed();
    expect(Date.now() - start).toBeGreaterThanOrEqual(900);
  });

  it('is dropped when it dribbles an option a byte at a time', async () => {
    const c = await RawClient.connect(server.socket);
    await c.handshake();
    const option = Buffer.alloc(16 + 6);
    option.write('IHAVEOPT', 0, 'latin1');
    option.writeUInt32BE(7, 8);
    option.writeUInt32BE(6, 12);
    let sent = 0;
    const start = Date.now();
    while (!c.closed && sent < option.length) {
      c.write(option.subarray(sent, sent + 1));
      sent++;
      await new Promise((r) => setTimeout(r, 150));
    }
    await c.waitClosed();
    expect(sent).toBeLessThan(option.length);
    expect(Date.now() - start).toBeGreaterThanOrEqual(900);
  });

  it('is not blamed for the time the layers take: opens slower than the whole limit still succeed', async () => {
    const slow = await startServer(['--handshake-timeout=1', '--filter=delay', 'null', 'size=1M', 'delay-open=0.7']);
    try {
      // nbdinfo opens the export twice (NBD_OPT_INFO, then NBD_OPT_GO): 1.4 s of opens in a 1 s limit.
      const r = await run('nbdinfo', [slow.uri]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('export-size: 1048576');
    } finally {
      await slow.stop();
    }
  });

  it('ends after 1024 options however fast it sends them', async () => {
    const c = await RawClient.connect(server.socket);
    await c.handshake();
    for (let i = 0; i < 1100; i++) c.sendOption(42);
    let replies = 0;
    try {
      for (;;) {
        await c.readOptionReply();
        replies++;
      }
    } catch {
      // closed by the server
    }
    expect(replies).toBe(1024);
  });

  it('while a well-behaved client is served', async () => {
    await nbdsh(server.uri, 'assert h.pread(512, 0) == bytearray(512)');
  });
});

describe('--max-connections', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer(['--max-connections=2', SINK]);
  });
  afterAll(async () => {
    await server.stop();
  });

  it('refuses the connection past the limit with a message, and serves again once one closes', async () => {
    const held = [await openExport(server.socket), await openExport(server.socket)];
    const refused = await run('nbdinfo', [server.uri], { env: { LIBNBD_DEBUG: '1' } });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('too many connections: 2 already (--max-connections)');
    expect(server.stderr()).toMatch(/connection \d+ refused: too many connections: 2 already \(--max-connections\)/);
    const raw = await RawClient.connect(server.socket);
    await raw.handshake();
    const go = await raw.go();
    expect(go.type).toBe(0x8000_0002);
    raw.close();
    held[0]?.close();
    await held[0]?.waitClosed();
    for (let i = 0; ; i++) {
      const r = await run('nbdinfo', ['--size', server.uri]);
      if (r.status === 0) {
        expect(r.stdout.trim()).toBe(String(2 ** 40));
        break;
      }
      if (i > 50) throw new Error(r.stderr);
      await new Promise((res) => setTimeout(res, 100));
    }
    held[1]?.close();
  });
});

describe('memory under a storm of large pipelined writes', () => {
  const CONNECTIONS = 200;
  const WRITES = 2;
  const SIZE = 64 * MiB;
  /** The bound stated in docs/reliability.md. */
  const RSS_BOUND = 700 * MiB;
  /** Writes acknowledged before the storm stops: twice the default buffer limit of 256 MiB. */
  const TARGET = 8;
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer(['-v', SINK]);
  });
  afterAll(async () => {
    await server.stop();
  });

  it(`${CONNECTIONS} connections pipelining ${SIZE / MiB} MiB writes without reading: RSS stays under ${RSS_BOUND / MiB} MiB, a well-behaved client is served`, async () => {
    const pid = server.child.pid as number;
    const payload = Buffer.alloc(SIZE, 0x5a);
    const storm = await Promise.all(Array.from({ length: CONNECTIONS }, () => openExport(server.socket)));
    storm.forEach((c, i) => {
      for (let w = 0; w < WRITES; w++) sendWrite(c, BigInt(w), BigInt(i) * BigInt(WRITES * SIZE) + BigInt(w * SIZE), payload);
    });
    // The storm's clients read no reply until the end; what arrives stays in their buffers.
    const acknowledged = () => storm.reduce((n, c) => n + Math.floor(c.available / 16), 0);
    let sampled = 0;
    const sampler = setInterval(() => (sampled = Math.max(sampled, memoryOf(pid).rss)), 50);
    let rounds = 0;
    try {
      // The well-behaved client: round trips all through the storm, until the
      // storm has pushed twice the server's buffer limit through it.
      while (acknowledged() < TARGET && rounds < 60) {
        rounds++;
        await nbdsh(
          server.uri,
          `
for i in range(20):
    h.pwrite(b"x" * 4096, i * 4096)
    assert h.pread(4096, i * 4096) == bytearray(4096)
`,
        );
      }
    } finally {
      clearInterval(sampler);
    }
    expect(acknowledged()).toBeGreaterThanOrEqual(TARGET);
    for (const c of storm) {
      while (c.available >= 16) expect((await c.readSimpleReply()).error).toBe(0);
      c.close();
    }
    await run('nbdinfo', ['--size', server.uri]).then((r) => expect(r.stdout.trim()).toBe(String(2 ** 40)));
    const { peak } = memoryOf(pid);
    expect(await server.stop()).toBe(0);
    const held = Number(/buffers: at most (\d+) bytes held at once \(limit (\d+)\)/.exec(server.stderr())?.[1]);
    console.log(
      `storm: ${CONNECTIONS} connections, ${rounds} rounds of the well-behaved client, ` +
        `buffers held at most ${(held / MiB).toFixed(0)} MiB, server RSS peak ${(peak / MiB).toFixed(0)} MiB (sampled ${(sampled / MiB).toFixed(0)} MiB)`,
    );
    // The pool was used to the full, and never past it by more than one socket read per connection.
    expect(held).toBeGreaterThanOrEqual(256 * MiB - SIZE);
    expect(held).toBeLessThanOrEqual(256 * MiB + CONNECTIONS * 64 * 1024);
    expect(peak).toBeLessThan(RSS_BOUND);
  });
});
