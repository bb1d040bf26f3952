import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command, nbdsh, NBDSH_EXPECT_ERROR, requestBytes, runOk, tempDir, TEST_PATH, WireClient, withServer, type ServerProcess } from '@nbdkit-ts/testing';
import { MiB, WITHOUT_KOFFI } from './disk.js';

const SIZE = 48 * MiB;

/** Runs `fn` with strace attached to the server, and returns how many sendfile calls the server made meanwhile. */
async function sendfileCalls(server: ServerProcess, dir: string, fn: () => Promise<unknown>): Promise<number> {
  const out = join(dir, `strace-${server.child.pid}.log`);
  const strace = spawn('strace', ['-f', '-q', '-e', 'trace=sendfile', '-o', out, '-p', String(server.child.pid)], {
    env: { ...process.env, PATH: TEST_PATH },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  strace.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((resolve) => strace.on('exit', () => resolve()));
  // strace writes the file once it has attached to every thread; until then a call could be missed.
  for (let i = 0; i < 100 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 200));
  try {
    await fn();
  } finally {
    strace.kill('SIGINT');
    await exited;
  }
  if (!existsSync(out)) throw new Error(`strace did not attach: ${stderr}`);
  return readFileSync(out, 'utf8').split('\n').filter((l) => /sendfile\(/.test(l)).length;
}

describe('large reads sent from the file (sendfile)', () => {
  let dir: string;
  let image: string;
  let data: Buffer;

  beforeAll(() => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    data = randomBytes(SIZE);
    writeFileSync(image, data);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Copies the whole export with nbdcopy (1 MiB requests, several in flight) and checks every byte. */
  const copyAndCompare = async (uri: string) => {
    const copy = join(dir, 'copy.img');
    await runOk('nbdcopy', ['--request-size=1048576', uri, copy]);
    expect(readFileSync(copy).equals(data)).toBe(true);
    rmSync(copy);
  };

  /** Serves the image with `args`, copies it with {@link copyAndCompare}, and returns how many sendfile calls the server made. */
  const sendfileCallsCopying = (args: readonly string[], env?: NodeJS.ProcessEnv) =>
    withServer(args, (server) => sendfileCalls(server, dir, () => copyAndCompare(server.uri)), { env });

  it('nbdcopy gets every byte, and the server sent them with sendfile', async () => {
    expect(await sendfileCallsCopying(['file', image])).toBeGreaterThan(0);
  });

  it('simple and structured replies: large and small reads in flight together, between writes', async () => {
    const copy = join(dir, 'mixed.img');
    writeFileSync(copy, data);
    await withServer(['file', copy], async (server) => {
      for (const structured of ['True', 'False']) {
        await runOk('nbdsh', [
          '-c',
          [
            `h.set_request_structured_replies(${structured})`,
            `h.connect_uri('${server.uri}')`,
            `assert h.get_structured_replies_negotiated() == ${structured}`,
            `ref = bytearray(open('${copy}', 'rb').read())`,
            'import random',
            'rng = random.Random(7)',
            'pending = []',
            'for i in range(96):',
            '    size = rng.choice([4096, 65536, 131072, 1048576, 4 * 1048576])',
            `    off = rng.randrange(0, ${SIZE} - size, 512)`,
            '    if i % 5 == 4:',
            '        while h.aio_in_flight() > 0: h.poll(-1)',
            '        payload = bytes([i]) * size',
            '        h.aio_pwrite(payload, off)',
            '        ref[off:off + size] = payload',
            '        while h.aio_in_flight() > 0: h.poll(-1)',
            '    else:',
            '        b = nbd.Buffer(size)',
            '        pending.append((h.aio_pread(b, off), b, bytes(ref[off:off + size])))',
            'while h.aio_in_flight() > 0: h.poll(-1)',
            'for cookie, b, want in pending:',
            '    assert h.aio_command_completed(cookie)',
            '    assert b.to_bytearray() == want',
            'h.flush()',
            `assert open('${copy}', 'rb').read() == bytes(ref)`,
            'h.shutdown()',
          ].join('\n'),
        ]);
      }
    });
    rmSync(copy, { force: true });
  });

  it('a filter without a pread of its own passes it on; one with a pread stops it, and reads are copied', async () => {
    expect(await sendfileCallsCopying(['--filter=nocache', 'file', image])).toBeGreaterThan(0);
    expect(await sendfileCallsCopying(['--filter=truncate', 'file', image, 'round-up=512'])).toBe(0);
  });

  it('cache=none, and a server without koffi, copy reads: no sendfile, the same bytes', async () => {
    expect(await sendfileCallsCopying(['file', image, 'cache=none'])).toBe(0);
    expect(await sendfileCallsCopying(['file', image], WITHOUT_KOFFI)).toBe(0);
  });

  it('a file that shrank under the server: a large read past its end gets EIO, and the connection goes on', async () => {
    const shrinking = join(dir, 'shrinking.img');
    writeFileSync(shrinking, data);
    await withServer(['file', shrinking], (server) =>
      nbdsh(
        server.uri,
        [
          NBDSH_EXPECT_ERROR,
          `open('${shrinking}', 'r+b').truncate(${SIZE / 2})`,
          `expect_error(errno.EIO, h.pread, ${MiB}, ${SIZE - MiB})`,
          `assert h.pread(${MiB}, 0) == open('${shrinking}', 'rb').read(${MiB})`,
        ].join('\n'),
      ),
    );
    rmSync(shrinking, { force: true });
  });

  it('a client that leaves in the middle of large replies: the server goes on serving', async () => {
    await withServer(['file', image], async (server) => {
      for (let i = 0; i < 3; i++) {
        const c = await WireClient.connect(server.socket);
        await c.open();
        for (let k = 0n; k < 8n; k++) c.socket.write(requestBytes(Command.READ, k, k * BigInt(4 * MiB), 4 * MiB));
        await c.read(1000);
        c.socket.destroy();
      }
      await copyAndCompare(server.uri);
      // Replies to a client that has gone are dropped, not failures of the layer.
      expect(server.stderr()).not.toMatch(/sendFrom|cut short/);
    });
  });
});
