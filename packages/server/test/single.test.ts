import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliPath, nbdsh, run, runOk, tempDir, TEST_PATH } from '@nbdkit-ts/testing';
import { createServer as createNbdServer } from '../src/index.js';

/** How one `nbdkit-ts -s` ended, and what it wrote on standard error. */
interface Ended {
  readonly status: number | null;
  readonly stderr: string;
}

/**
 * An inetd of the test's own: every client accepted on the unix socket
 * `path` gets its own `nbdkit-ts -s ARGS...`, with the connection as its
 * standard input and output (one socket on both, as inetd and systemd give).
 * `ended` has how each of those servers ended, in the order they started.
 */
async function inetd(path: string, args: readonly string[]): Promise<{ listener: Server; ended: Promise<Ended>[] }> {
  const ended: Promise<Ended>[] = [];
  const listener = createServer({ pauseOnConnect: true }, (client) => {
    const child = spawn(process.execPath, [cliPath(), '-s', ...args], { stdio: [client, client, 'pipe'], env: { ...process.env, PATH: TEST_PATH } });
    // The server has its own copy of the connection: the client sees it close when the server exits.
    client.destroy();
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    ended.push(new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr }))));
  });
  await new Promise<void>((resolve) => listener.listen(path, resolve));
  return { listener, ended };
}

/**
 * Python for nbdsh: connect to `nbdkit-ts -s ... memory size=16M` run by
 * `command` (argv), write 8 MiB (far more than a pipe holds) and some small
 * pieces, and read them back.
 */
function writeAndReadBack(command: readonly string[], prelude = ''): string {
  return `${prelude}
h.connect_command(${JSON.stringify(command)})
assert h.get_size() == 16 * 1024 * 1024
data = bytes(range(256)) * 32768
h.pwrite(data, 0)
h.pwrite(b"hello" * 100, 4096)
assert h.pread(500, 4096) == b"hello" * 100
assert h.pread(len(data) - 8192, 8192) == data[8192:]
`;
}

describe('nbdkit-ts -s: the one client on standard input and output', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });
  const dir = (): string => {
    const d = tempDir();
    cleanups.push(() => rmSync(d, { recursive: true, force: true }));
    return d;
  };

  it("nbdsh's connect_command (a socketpair): what is written reads back, and the server exits 0 once the client has gone", async () => {
    const status = join(dir(), 'status');
    // The shell reports the server's own exit status: nothing kills it, it leaves when the client does.
    const command = ['sh', '-c', `"$0" "$1" -s memory size=16M; echo $? > ${status}`, process.execPath, cliPath()];
    await runOk('nbdsh', ['-c', writeAndReadBack(command)]);
    expect(readFileSync(status, 'utf8').trim()).toBe('0');
  });

  it('two pipes (cat | nbdkit-ts -s | cat): the same', async () => {
    const status = join(dir(), 'status');
    const command = ['bash', '-c', `cat | "$0" "$1" -s memory size=16M | cat; echo "\${PIPESTATUS[1]}" > ${status}`, process.execPath, cliPath()];
    await runOk('nbdsh', ['-c', writeAndReadBack(command)]);
    expect(readFileSync(status, 'utf8').trim()).toBe('0');
  });

  it('a client that sends NBD_CMD_DISC right after 48 MiB of reads gets every reply, over a socketpair and over two pipes', async () => {
    const server = `"$0" "$1" -s memory size=64M`;
    for (const command of [
      ['sh', '-c', `exec ${server}`, process.execPath, cliPath()],
      ['sh', '-c', `cat | ${server} | cat`, process.execPath, cliPath()],
    ]) {
      await runOk('nbdsh', [
        '-c',
        `
h.connect_command(${JSON.stringify(command)})
bufs = [nbd.Buffer(1024 * 1024) for _ in range(48)]
cookies = [h.aio_pread(b, i * 1024 * 1024) for i, b in enumerate(bufs)]
h.shutdown()
assert all(h.aio_command_completed(c) for c in cookies)
`,
      ]);
    }
  });

  it('TLS (a pre-shared key) over a socketpair and over two pipes', async () => {
    const keys = join(dir(), 'keys.psk');
    writeFileSync(keys, `alice:${randomBytes(32).toString('hex')}\n`);
    const tls = `h.set_tls(nbd.TLS_REQUIRE)\nh.set_tls_psk_file(${JSON.stringify(keys)})\nh.set_tls_username("alice")`;
    const server = `"$0" "$1" -s --tls=require --tls-psk=${keys} memory size=16M`;
    for (const command of [
      ['sh', '-c', `exec ${server}`, process.execPath, cliPath()],
      ['sh', '-c', `cat | ${server} | cat`, process.execPath, cliPath()],
    ]) {
      await runOk('nbdsh', ['-c', writeAndReadBack(command, tls) + 'assert h.get_tls_negotiated()\n']);
    }
  });

  it('qemu-img info and nbdinfo, one server each from an inetd; messages go to stderr, and each server exits 0 when its client leaves', async () => {
    const socket = join(dir(), 'inetd.sock');
    const { listener, ended } = await inetd(socket, ['-v', 'memory', 'size=1M']);
    cleanups.push(() => listener.close());
    const uri = `nbd+unix:///?socket=${socket}`;
    const info = await runOk('qemu-img', ['info', '--output=json', '-f', 'raw', uri]);
    expect(JSON.parse(info.stdout)).toMatchObject({ 'virtual-size': 1048576 });
    const nbdinfo = await runOk('nbdinfo', ['--json', uri]);
    expect(JSON.parse(nbdinfo.stdout)).toMatchObject({ exports: [{ 'export-size': 1048576 }] });
    await runOk('nbdsh', ['-u', uri, '-c', 'h.pwrite(b"abc", 0); assert h.pread(3, 0) == b"abc"']);
    expect(ended).toHaveLength(3);
    for (const e of await Promise.all(ended)) {
      expect(e.status, e.stderr).toBe(0);
      // -v: debug lines, all of them on stderr (stdout is the client's: a stray line there would break the protocol).
      expect(e.stderr).toMatch(/serving the client on standard input and output/);
      expect(e.stderr).toMatch(/connection 1: closed/);
    }
  });

  it.each([
    [['-U', '/tmp/never.sock'], '-s and -U cannot be used together'],
    [['-p', '10809'], '-s and -p cannot be used together'],
    [['--run', 'true'], '-s and --run cannot be used together'],
    [['--dump-plugin'], '-s and --dump-plugin cannot be used together'],
  ])('-s with %j: refused, naming the option, nothing on stdout, exit 1', async (extra, message) => {
    const r = await run(process.execPath, [cliPath(), '-s', ...extra, 'memory', 'size=1M']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`nbdkit-ts: ${message}`);
    expect(r.stdout).toBe('');
  });

  it('a standard input that is not a connection (a file) is refused, saying so', async () => {
    const file = join(dir(), 'not-a-connection');
    writeFileSync(file, 'data');
    const r = await run('sh', ['-c', `exec "$0" "$1" -s memory size=1M < "$2"`, process.execPath, cliPath(), file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("-s: standard input is a file; it must be the client's connection (a socket or a pipe)");
  });
});

describe('NbdServer.serve: one connection the caller hands over', () => {
  it('serves a socket from an accept loop of its own, and resolves once that client has gone', async () => {
    const server = await createNbdServer({ plugin: 'memory', params: ['size=1M'] });
    const socketDir = tempDir();
    const path = join(socketDir, 's');
    const served: Promise<void>[] = [];
    const listener = createServer({ pauseOnConnect: true }, (socket) => served.push(server.serve(socket)));
    await new Promise<void>((resolve) => listener.listen(path, resolve));
    try {
      await nbdsh(`nbd+unix:///?socket=${path}`, 'h.pwrite(b"abc", 512)\nassert h.pread(3, 512) == b"abc"');
      expect(served).toHaveLength(1);
      await served[0];
      expect(server.connectionCount).toBe(0);
      expect(server.openContexts().every((c) => c.open === 0)).toBe(true);
    } finally {
      listener.close();
      await server.close();
      rmSync(socketDir, { recursive: true, force: true });
    }
  });
});
