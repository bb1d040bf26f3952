import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cliPath, run, startServer, tempDir, TEST_PATH } from '@nbdkit-ts/testing';

const WRITER = `
i = 0
while i < 100000:
    h.pwrite(bytes([i % 251 + 1]) * 4096, (i % 4096) * 4096, nbd.CMD_FLAG_FUA)
    print(i, flush=True)
    i += 1
`;

const PACKAGES = fileURLToPath(new URL('../..', import.meta.url));
const nbdkitTs = (args: string[], env?: NodeJS.ProcessEnv) => run(process.execPath, [cliPath(), ...args], { env });

describe('the nbdkit-ts command line', () => {
  let dir: string;
  let image: string;

  beforeAll(() => {
    dir = tempDir();
    image = join(dir, 'disk.img');
    writeFileSync(image, Buffer.alloc(4 * 1024 * 1024, 1));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--run sets $uri and friends, exits with the command status, and stops the server', async () => {
    const r = await nbdkitTs(['-U', '-', 'file', image, '--run', 'nbdinfo --size "$uri"; echo "$unixsocket" "[$exportname]" "$nbd"; exit 7']);
    expect(r.status).toBe(7);
    const [size, rest] = r.stdout.split('\n');
    expect(size).toBe(String(4 * 1024 * 1024));
    const [sock, name, nbd] = (rest ?? '').split(' ');
    expect(name).toBe('[]');
    expect(nbd).toBe(`nbd+unix:///?socket=${sock}`);
    expect(existsSync(sock as string)).toBe(false);
    expect(existsSync(dirname(sock as string))).toBe(false);
  });

  it('listens on TCP with -p and -i, and options may follow the plugin arguments', async () => {
    const r = await nbdkitTs(['file', image, '-i', '127.0.0.1', '-p', '0', '-e', 'foo', '--run', 'echo "$uri $port"; nbdinfo --size "nbd://127.0.0.1:$port"']);
    expect(r.stderr).toBe('');
    const [uri, port] = (r.stdout.split('\n')[0] ?? '').split(' ');
    expect(uri).toBe(`nbd://127.0.0.1:${port}/foo`);
    expect(r.stdout.split('\n')[1]).toBe(String(4 * 1024 * 1024));
    expect(r.status).toBe(0);
  });

  it('goes to the background once listening without -f, writing its pid with -P', async () => {
    const sock = join(dir, 'bg.sock');
    const pidfile = join(dir, 'bg.pid');
    const r = await nbdkitTs(['-U', sock, '-P', pidfile, 'file', image]);
    expect(r.status).toBe(0);
    expect(existsSync(sock)).toBe(true);
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    const info = await run('nbdinfo', ['--size', `nbd+unix:///?socket=${sock}`]);
    expect(info.stdout.trim()).toBe(String(4 * 1024 * 1024));
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && existsSync(pidfile); i++) await new Promise((res) => setTimeout(res, 50));
    expect(existsSync(pidfile)).toBe(false);
    expect(existsSync(sock)).toBe(false);
  });

  it('without -f, a server that fails before it listens says why, and the command fails', async () => {
    for (const [args, said] of [
      [['-U', join(dir, 'nf.sock'), '--filter=no-such-filter', 'file', image], 'nbdkit-ts: filter "no-such-filter" not found'],
      [['-U', join(dir, 'np.sock'), 'file', image, 'no-such-key=1'], 'no-such-key'],
      [['-U', join(dir, 'no-such-dir', 'x.sock'), 'file', image], 'cannot listen on'],
    ] as const) {
      const r = await nbdkitTs([...args]);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(said);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('nbdkit-ts:'))).toHaveLength(1);
    }
  });

  it('in the background, keeps its standard input for the configuration (an inline sh script)', async () => {
    const sock = join(dir, 'stdin.sock');
    const pidfile = join(dir, 'stdin.pid');
    const script = 'case "$1" in get_size) echo 12K ;; pread) dd if=/dev/zero count=$3 iflag=count_bytes status=none ;; *) exit 2 ;; esac\n';
    const r = await run(process.execPath, [cliPath(), '-U', sock, '-P', pidfile, 'sh', '-'], { input: script });
    expect(r.status).toBe(0);
    try {
      const info = await run('nbdinfo', ['--size', `nbd+unix:///?socket=${sock}`]);
      expect(info.stdout.trim()).toBe('12288');
    } finally {
      process.kill(Number(readFileSync(pidfile, 'utf8').trim()), 'SIGTERM');
    }
  });

  it('--mask-handshake=0 looks like an old server: plain newstyle, NBD_OPT_EXPORT_NAME only, simple replies', async () => {
    const r = await nbdkitTs(['--mask-handshake=0', 'file', image, '--run', 'nbdinfo "$uri"']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^protocol: newstyle without TLS, using simple packets$/m);
    expect(r.stdout).toContain(`export-size: ${4 * 1024 * 1024}`);
    const bad = await nbdkitTs(['--mask-handshake=fixed', 'file', image]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--mask-handshake=fixed: expected a whole number from 0 to 65535');
  });

  it('in the background, keeps the descriptors it inherited (fd=)', async () => {
    const sock = join(dir, 'fd.sock');
    const pidfile = join(dir, 'fd.pid');
    const r = await run('sh', ['-c', `exec 6<>"${image}"; exec "${process.execPath}" "${cliPath()}" -U ${sock} -P ${pidfile} file fd=6`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    try {
      const info = await run('nbdinfo', ['--size', `nbd+unix:///?socket=${sock}`]);
      expect(info.stdout.trim()).toBe(String(4 * 1024 * 1024));
    } finally {
      process.kill(Number(readFileSync(pidfile, 'utf8').trim()), 'SIGTERM');
    }
  });

  it('--no-sr refuses structured replies: simple replies, no block status, no DF', async () => {
    const r = await nbdkitTs(['--no-sr', 'file', image, '--run', `nbdsh -u "$uri" -c 'assert not h.get_structured_replies_negotiated(); assert not h.can_df(); assert not h.can_meta_context("base:allocation"); assert len(h.pread(512, 0)) == 512'`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it("--filter=retry, nbdkit's name, is filter-reopen with the same parameters", async () => {
    const v = await nbdkitTs(['--filter=retry', 'null', '--version']);
    expect(v.stdout).toMatch(/^reopen \d/m);
    const r = await nbdkitTs(['-U', '-', '--filter=retry', 'file', image, 'retries=2', 'retry-delay=0.1', 'retry-readonly=true', '--run', 'nbdinfo --size "$uri"']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(String(4 * 1024 * 1024));
  });

  it('SIGTERM during FUA writes: the server exits 0 and every acknowledged write is on disk', async () => {
    const img = join(dir, 'term.img');
    writeFileSync(img, Buffer.alloc(16 * 1024 * 1024));
    const server = await startServer(['file', img]);
    const writer = spawn('nbdsh', ['-u', server.uri, '-c', WRITER], { env: { ...process.env, PATH: TEST_PATH } });
    let out = '';
    writer.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const writerDone = new Promise((res) => writer.on('close', res));
    while (out.split('\n').length < 50) await new Promise((res) => setTimeout(res, 20));
    expect(await server.stop('SIGTERM')).toBe(0);
    await writerDone;
    const acked = out.trim().split('\n').filter((l) => l !== '').map(Number);
    expect(acked.length).toBeGreaterThan(0);
    const data = readFileSync(img);
    for (const i of acked.slice(-4096)) expect(data[(i % 4096) * 4096 + 4095]).toBe((i % 251) + 1);
  });

  it('SIGTERM as soon as the socket appears: the server exits 0, every time', async () => {
    for (let i = 0; i < 20; i++) {
      const server = await startServer(['file', image]);
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });

  it('--exit-with-parent stops the server when its parent exits', async () => {
    const sock = join(dir, 'parent.sock');
    const parent = await run('sh', ['-c', `"${process.execPath}" "${cliPath()}" -f --exit-with-parent -U ${sock} file ${image} & echo $!; while [ ! -S ${sock} ]; do sleep 0.1; done`]);
    const pid = Number(parent.stdout.trim());
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      await new Promise((res) => setTimeout(res, 50));
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
    expect(existsSync(sock)).toBe(false);
  });

  it("prints versions (the packages' own), help with layer parameters, and --dump-plugin", async () => {
    const version = (pkg: string) => (JSON.parse(readFileSync(join(PACKAGES, pkg, 'package.json'), 'utf8')) as { version: string }).version;
    const v = await nbdkitTs(['--version', 'file']);
    expect(v.stdout).toBe(`nbdkit-ts ${version('server')}\nfile ${version('plugin-file')}\n`);
    const h = await nbdkitTs(['--help', 'file']);
    expect(h.stdout).toMatch(/Usage: nbdkit-ts/);
    expect(h.stdout).toContain(`plugin file ${version('plugin-file')}: `);
    expect(h.stdout).toMatch(/plugin file .*\n\s+file=\s+the file or block device to serve \(the bare word\)/);
    const d = await nbdkitTs(['--dump-plugin', 'file']);
    expect(d.stdout).toMatch(new RegExp(`^path=.*\\nname=file\\nversion=${version('plugin-file').replaceAll('.', '\\.')}\\napi_version=1\\n`));
    expect(d.stdout).toMatch(/magic_config_key=file/);
  });

  it('--dump-config prints key=value lines, with the keys scripts probe in nbdkit\'s', async () => {
    const r = await nbdkitTs(['--dump-config']);
    expect(r.status).toBe(0);
    const config = new Map(r.stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
    const server = (JSON.parse(readFileSync(join(PACKAGES, 'server', 'package.json'), 'utf8')) as { version: string }).version;
    const [major, minor] = server.split('.');
    expect(config.get('name')).toBe('nbdkit-ts');
    expect(config.get('tls')).toBe('yes');
    expect([config.get('version'), config.get('version_major'), config.get('version_minor')]).toEqual([server, major, minor]);
    expect(config.get('binary')).toBe(cliPath());
    expect(config.get('bindir')).toBe(join(cliPath(), '..'));
    expect(config.get('node_version')).toBe(process.versions.node);
  });

  it('--long-options and --short-options list the options, one a line', async () => {
    const long = (await nbdkitTs(['--long-options'])).stdout.trim().split('\n');
    expect(long).toEqual(expect.arrayContaining(['--help', '--version', '--dump-config', '--filter', '--run', '--tls']));
    expect(long).toEqual([...long].sort());
    const short = (await nbdkitTs(['--short-options'])).stdout.trim().split('\n');
    expect(short).toEqual(expect.arrayContaining(['-v', '-V', '-U', '-r', '-f']));
    expect(short.every((o) => /^-[A-Za-z]$/.test(o))).toBe(true);
  });

  it('--version shows the version --list shows, for every layer of the repository', async () => {
    const list = await nbdkitTs(['--list']);
    const listed = new Map([...list.stdout.matchAll(/^ {2}(\S+) +(\S+) +api \d/gm)].map((m) => [m[1] ?? '', m[2]]));
    const filters = [...listed.keys()].filter((name) => existsSync(join(PACKAGES, `filter-${name}`)));
    const plugins = [...listed.keys()].filter((name) => existsSync(join(PACKAGES, `plugin-${name}`)));
    expect(filters.length).toBeGreaterThan(2);
    expect(plugins.length).toBeGreaterThan(1);
    for (const plugin of plugins) {
      const v = await nbdkitTs(['--version', ...filters.map((f) => `--filter=${f}`), plugin]);
      expect(v.status).toBe(0);
      const shown = v.stdout.trim().split('\n').slice(1).map((line) => line.split(' '));
      expect(shown).toEqual([...filters, plugin].map((name) => [name, listed.get(name)]));
    }
  });

  it('a bad command line gets one clear message and exit 1', async () => {
    const cases: [string[], RegExp][] = [
      [[], /no plugin given/],
      [['--bogus', 'file', image], /unknown option --bogus/],
      [['-p', 'x', 'file', image], /--port=x: expected a whole number from 0 to 65535/],
      [['-U', '/tmp/a', '-p', '1', 'file', image], /-U and -p cannot be used together/],
      [['-f', '-U', '-', 'file', image, 'nosuchkey=1'], /unknown parameter "nosuchkey"\n\s+plugin file: file \(magic\)/],
      [['-f', '-U', '-', 'file'], /file: one of file=, dir=/],
      [['-f', '-U', '-', 'file', join(dir, 'missing.img')], /file=.*missing\.img: ENOENT/],
      [['-f', '-U', '-', 'file', image, image], /file= given more than once/],
      [['-f', '-U', '-', 'nosuchplugin'], /plugin "nosuchplugin" not found\. Looked for:\n\s+@nbdkit-ts\/plugin-nosuchplugin from/],
      [['-f', '-U', '-', '--filter=nosuch', 'file', image], /filter "nosuch" not found[\s\S]*nbdkit-ts-filter-nosuch from[\s\S]*NBDKIT_TS_PATH/],
      [['-f', '-U', '-', '--filter=stats', 'file', image], /^Install it \(npm i @nbdkit-ts\/filter-stats, or the third-party nbdkit-ts-filter-stats\), give a path/m],
      [['-f', '-U', '-', '-D', 'bad', 'file', image], /-D bad: expected LAYER\.FLAG=N/],
      [['-f', '-U', '-', '--handshake-timeout=soon', 'file', image], /--handshake-timeout=soon: not a number of seconds/],
      [['-f', '-U', '-', '--request-timeout=-1', 'file', image], /--request-timeout=-1: not a number of seconds/],
      [['-f', '-U', '-', '--shutdown-timeout', '1s', 'file', image], /--shutdown-timeout=1s: not a number of seconds/],
      [['-f', '-U', '-', '--max-connections=0', 'file', image], /--max-connections=0: expected a whole number from 1 to 9007199254740991/],
    ];
    for (const [args, message] of cases) {
      const r = await nbdkitTs(args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trim().startsWith('nbdkit-ts: '), args.join(' ')).toBe(true);
    }
  });
});
