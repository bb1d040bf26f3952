import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, nbdsh, run, runOk, startServer, tempDir } from '@nbdkit-ts/testing';

const PLUGIN = fileURLToPath(new URL('../dist/index.js', import.meta.url));
let dir: string;

beforeAll(() => {
  dir = tempDir();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes an executable shell script whose body is a `case "$1" in ... esac` of `methods`. */
function script(name: string, methods: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\ncase "$1" in\n${methods}\n  *) exit 2 ;;\nesac\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Runs `nbdkit-ts -U - sh ARGS... --run COMMAND`, with `input` on stdin. */
const captive = (args: string[], command: string, input?: string) =>
  run(process.execPath, [cliPath(), '-U', '-', PLUGIN, ...args, '--run', command], { input });

describe('the sh plugin', () => {
  it('carries the errno name a script prints first on stderr to the client, and EIO for anything else', async () => {
    const s = script('errors.sh', `
  get_size) echo 1M ;;
  can_write) exit 0 ;;
  pread)
    case "$4" in
      0) echo 'ENOSPC out of space here' >&2 ;;
      512) echo eperm >&2 ;;
      1024) printf 'ESHUTDOWN\\nline one\\nline two\\n' >&2 ;;
      1536) echo EPIPE >&2 ;;
      2048) echo EINVALID >&2 ;;
      2560) ;;
      *) dd if=/dev/zero count="$3" iflag=count_bytes status=none; exit 0 ;;
    esac
    exit 1 ;;
  pwrite) cat >/dev/null; echo 'EROFS not today' >&2; exit 1 ;;`);
    // -v: request errors are logged only when verbose.
    const server = await startServer(['-v', PLUGIN, s]);
    try {
      await nbdsh(server.uri, `
import errno
def fails(offset, code):
    try:
        h.pread(512, offset)
    except nbd.Error as e:
        assert e.errnum == code, (offset, e.errnum, code)
        return
    raise AssertionError(offset)
fails(0, errno.ENOSPC)
fails(512, errno.EPERM)
fails(1024, errno.ESHUTDOWN)
fails(1536, errno.EIO)
fails(2048, errno.EIO)
fails(2560, errno.EIO)
assert h.pread(512, 4096) == bytes(512)
try:
    h.pwrite(b"x" * 512, 0)
    raise AssertionError("write")
except nbd.Error as e:
    assert e.errnum == errno.EPERM, e.errnum
`);
      expect(server.stderr()).toContain(`${s}: out of space here`);
      expect(server.stderr()).toContain(`${s}: script exited with error, but did not print an error message on stderr`);
      // The message is the first line after the errno name; the rest is not shown.
      expect(server.stderr()).toContain(`${s}: line one`);
      expect(server.stderr()).not.toContain('line two');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('reads an inline script from stdin, gives it $tmpdir, and removes that directory at exit', async () => {
    const seen = join(dir, 'tmpdir-seen');
    const r = await captive(['-'], 'nbdinfo --size "$uri"', `
case "$1" in
  get_size) echo "$tmpdir" > ${seen}; echo 64K ;;
  pread) dd if=/dev/zero count=$3 iflag=count_bytes status=none ;;
  *) exit 2 ;;
esac
`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('65536');
    const used = readFileSync(seen, 'utf8').trim();
    expect(used.startsWith(tmpdir())).toBe(true);
    expect(existsSync(used)).toBe(false);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('nbdkit-ts-sh-') && join(tmpdir(), f) === used)).toEqual([]);
  });

  it("hands the script's own parameters to its config method in order, and bare words to its magic_config_key", async () => {
    const log = join(dir, 'config.log');
    const s = script('config.sh', `
  magic_config_key) echo disk ;;
  config) echo "$2=$3" >> ${log} ;;
  get_size) echo 512 ;;
  pread) dd if=/dev/zero count=$3 iflag=count_bytes status=none ;;`);
    await runOk(process.execPath, [cliPath(), '-U', '-', PLUGIN, s, 'a=1', 'first.img', 'b=2', 'second.img', '--run', 'true']);
    expect(readFileSync(log, 'utf8')).toBe('a=1\ndisk=first.img\nb=2\ndisk=second.img\n');
  });

  it('reports extents, exports with descriptions and the default export as the script prints them', async () => {
    const s = script('exports.sh', `
  list_exports) printf 'INTERLEAVED\\nalpha\\nthe first\\nbeta\\n\\n' ;;
  default_export) echo beta ;;
  open) echo "$3" ;;
  export_description) echo "$2, as its handle says" ;;
  get_size) echo 4M ;;
  can_extents) exit 0 ;;
  extents) printf '0 1M\\n1M 2M hole,zero\\n3145728 1M 2\\n' ;;
  pread) dd if=/dev/zero count=$3 iflag=count_bytes status=none ;;`);
    const server = await startServer([PLUGIN, s]);
    try {
      const list = await runOk('nbdinfo', ['--list', '--json', server.uri]);
      const exports = (JSON.parse(list.stdout) as { exports: { 'export-name': string; description?: string }[] }).exports;
      expect(exports.map((e) => [e['export-name'], e.description ?? null])).toEqual([['alpha', 'the first'], ['beta', null]]);
      const map = await runOk('nbdinfo', ['--map', server.uri]);
      expect(map.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).slice(0, 3))).toEqual([
        ['0', '1048576', '0'],
        ['1048576', '2097152', '3'],
        ['3145728', '1048576', '2'],
      ]);
      const info = await runOk('nbdinfo', ['--no-content', server.uri]);
      expect(info.stdout).toContain('export="beta":');
      expect(info.stdout).toContain('description: beta, as its handle says');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('a script that cannot write advertises nothing that writes: no trim, zero, fast zero or FUA', async () => {
    const s = script('readonly.sh', `
  get_size) echo 1M ;;
  can_trim|can_zero|can_fast_zero|can_flush) exit 0 ;;
  can_fua) echo native ;;
  pread) dd if=/dev/zero count=$3 iflag=count_bytes status=none ;;`);
    const r = await captive([s], `nbdsh -u "$uri" -c 'assert h.is_read_only(); assert not (h.can_trim() or h.can_zero() or h.can_fast_zero() or h.can_fua()); assert h.can_flush()'`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('statuses 6, 7 and 8 end the connection (6 at once, 7 and 8 refusing later requests); 4 shuts the server down', async () => {
    const s = script('statuses.sh', `
  open) echo "$3" ;;
  get_size) echo 1M ;;
  can_write|can_flush) exit 0 ;;
  flush) exit 0 ;;
  pread) dd if=/dev/zero count=$3 iflag=count_bytes status=none ;;
  pwrite) cat >/dev/null; exit "$2" ;;`);
    const server = await startServer([PLUGIN, s]);
    const write = (status: number, then: string) =>
      nbdsh(server.uriFor(String(status)), `
import errno
def errnum(f):
    try:
        f()
    except nbd.Error as e:
        return e.errnum
    return 0
${then}
`);
    await write(7, 'assert errnum(lambda: h.pwrite(b"x", 0)) == 0\nassert errnum(h.flush) == errno.ESHUTDOWN\nassert errnum(lambda: h.pread(1, 0)) == errno.ESHUTDOWN');
    await write(8, 'assert errnum(lambda: h.pwrite(b"x", 0)) == errno.ESHUTDOWN\nassert errnum(h.flush) == errno.ESHUTDOWN');
    await write(6, 'assert errnum(lambda: h.pwrite(b"x", 0)) == errno.ENOTCONN');
    await write(0, 'assert errnum(lambda: h.pwrite(b"x", 0)) == 0');
    await write(4, 'h.pwrite(b"x", 0)').catch(() => {});
    // Status 4 stops the server by itself: no signal is sent.
    for (let i = 0; i < 200 && server.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(server.child.exitCode).toBe(0);
    expect(await server.stop()).toBe(0);
  });

  it.each([
    [['file=x.img'], 'sh: the first parameter must be script=/path/to/script'],
    [['script=/nonexistent/plugin.sh'], 'sh: script=/nonexistent/plugin.sh: '],
    [[], 'sh: missing script parameter'],
  ])('refuses %j, naming what is wrong', async (params, message) => {
    const r = await captive(params, 'true');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it("refuses a parameter the script's config does not take, and a second bare word without a magic_config_key", async () => {
    const s = script('noconfig.sh', '  get_size) echo 0 ;;');
    const a = await captive([s, 'size=1M'], 'true');
    expect(a.status).toBe(1);
    expect(a.stderr).toContain('sh: size=1M: this plugin does not need command line configuration');
    const b = await captive([s, 'disk.img'], 'true');
    expect(b.status).toBe(1);
    expect(b.stderr).toContain('sh: expecting key=value on the command line but got: disk.img');
  });

  it('runs the script once per request: each pread, pwrite, zero, trim and flush is one call', async () => {
    // The script appends the name of each method it is called for to $CALLS.
    const calls = join(dir, 'calls');
    const s = join(dir, 'counted.sh');
    writeFileSync(s, `#!/bin/sh
echo "$1" >> "$CALLS"
disk="$tmpdir/disk"
case "$1" in
  get_ready) truncate -s 1M "$disk" ;;
  thread_model) echo parallel ;;
  get_size) echo 1M ;;
  can_write|can_flush|can_trim|can_zero) exit 0 ;;
  pread) dd if="$disk" skip="$4" count="$3" iflag=skip_bytes,count_bytes status=none ;;
  pwrite) dd of="$disk" seek="$4" conv=notrunc oflag=seek_bytes status=none ;;
  zero|trim) dd if=/dev/zero of="$disk" seek="$4" count="$3" conv=notrunc iflag=count_bytes oflag=seek_bytes status=none ;;
  flush) ;;
  *) exit 2 ;;
esac
`);
    chmodSync(s, 0o755);
    const server = await startServer([PLUGIN, s], { env: { CALLS: calls } });
    try {
      await nbdsh(server.uri, `
def calls():
    with open(${JSON.stringify(calls)}) as f:
        return f.read().split()
before = len(calls())
for i in range(16):
    h.pwrite(bytes([i + 1]) * 4096, i * 4096)
for i in range(16):
    assert h.pread(4096, i * 4096) == bytes([i + 1]) * 4096
h.zero(8192, 0)
h.trim(4096, 65536)
h.flush()
got = calls()[before:]
assert got == ["pwrite"] * 16 + ["pread"] * 16 + ["zero", "trim", "flush"], got
`);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('fails a connection whose script has no get_size, and pread output of the wrong length, and goes on serving', async () => {
    const s = script('short.sh', `
  get_size) [ "$2" = nosize ] && exit 2; echo 1M ;;
  open) echo "$3" ;;
  pread) printf abc ;;`);
    const server = await startServer(['-v', PLUGIN, s]);
    try {
      const bad = await run('nbdinfo', ['--size', server.uriFor('nosize')]);
      expect(bad.status).not.toBe(0);
      expect(server.stderr()).toContain('the get_size method is required');
      await nbdsh(server.uri, `
import errno
try:
    h.pread(512, 0)
    raise AssertionError("short read")
except nbd.Error as e:
    assert e.errnum == errno.EIO
`);
      expect(server.stderr()).toContain('incorrect amount of data read: expecting 512 bytes but received 3 bytes from the script');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
