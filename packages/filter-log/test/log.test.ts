import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cliPath, FAULT_FILTER, MEMORY_PLUGIN, NBDSH_EXPECT_ERROR, run, runOk, tempDir, withServer } from '@nbdkit-ts/testing';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));

let dir: string;
let log: string;
let out: string;

beforeAll(() => {
  dir = tempDir();
  log = join(dir, 'log');
  out = join(dir, 'out');
});

beforeEach(() => {
  for (const f of [log, out]) rmSync(f, { force: true });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} /;

/** The log file's lines without their timestamps (each checked first). */
function lines(file = log): string[] {
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => {
      expect(l).toMatch(TIMESTAMP);
      return l.replace(TIMESTAMP, '');
    });
}

/** Runs `nbdkit-ts -U - ARGS --run COMMAND` to its end. */
const runServer = (args: readonly string[], command: string) => runOk(process.execPath, [cliPath(), '-U', '-', ...args, '--run', command]);

/** Python for nbdsh (with --base-allocation): one call of each kind, each flag set somewhere. */
const SESSION = `
h.pwrite(b"x" * 512, 4096, nbd.CMD_FLAG_FUA)
h.pread(1024, 0)
h.flush()
h.trim(512, 8192)
h.zero(512, 0, nbd.CMD_FLAG_NO_HOLE)
h.zero(512, 0, nbd.CMD_FLAG_FAST_ZERO)
h.cache(4096, 0)
h.block_status(65536, 0, lambda *a: 0)
h.block_status(65536, 0, lambda *a: 0, nbd.CMD_FLAG_REQ_ONE)
`;

const DATA = ['data', '@32768 1', 'size=64K'];

describe('the log file', () => {
  it("has nbdkit's format: the server, the connection, and each call with its outcome", async () => {
    await runServer([`--filter=${FILTER}`, ...DATA, `logfile=${log}`], `nbdsh --base-allocation -u "$uri" -c '${SESSION}'`);
    expect(lines()).toEqual([
      'Ready thread_model=3',
      'Preconnect id=1 readonly=0 ...',
      '...Preconnect id=1 return=0',
      'connection=1 Connect export="" tls=0 size=0x10000 minsize=0x0 prefsize=0x0 maxsize=0x0 write=1 flush=1 rotational=0 trim=1 zero=2 fua=2 extents=1 cache=2 fast_zero=1',
      'connection=1 Write id=1 offset=0x1000 count=0x200 fua=1 ...',
      'connection=1 ...Write id=1 return=0',
      'connection=1 Read id=2 offset=0x0 count=0x400 ...',
      'connection=1 ...Read id=2 return=0',
      'connection=1 Flush id=3 ...',
      'connection=1 ...Flush id=3 return=0',
      'connection=1 Trim id=4 offset=0x2000 count=0x200 fua=0 ...',
      'connection=1 ...Trim id=4 return=0',
      'connection=1 Zero id=5 offset=0x0 count=0x200 trim=0 fua=0 fast=0 ...',
      'connection=1 ...Zero id=5 return=0',
      'connection=1 Zero id=6 offset=0x0 count=0x200 trim=1 fua=0 fast=1 ...',
      'connection=1 ...Zero id=6 return=0',
      'connection=1 Cache id=7 offset=0x0 count=0x1000 ...',
      'connection=1 ...Cache id=7 return=0',
      'connection=1 Extents id=8 offset=0x0 count=0x10000 req_one=0 ...',
      'connection=1 ...Extents id=8 extents=(0x0 0x10000 "") return=0',
      'connection=1 Extents id=9 offset=0x0 count=0x10000 req_one=1 ...',
      'connection=1 ...Extents id=9 extents=(0x0 0x10000 "") return=0',
      'connection=1 Disconnect transactions=9',
    ]);
  });

  it("has the same lines as nbdkit's log filter, but for nbdkit's Fork", async () => {
    const withoutFork = (file: string) => lines(file).filter((l) => l !== 'Fork');
    const command = `nbdsh --base-allocation -u "$uri" -c '${SESSION}'`;
    await runServer(['--filter=log', ...DATA, `logfile=${log}`], command);
    await runOk('nbdkit', ['-U', '-', '--filter=log', ...DATA, `logfile=${out}`, '--run', command]);
    expect(withoutFork(log)).toEqual(withoutFork(out));
  });

  it("logs each client's preconnect check, numbered across clients, and a refusal with its code", async () => {
    const refusing = ['eval', 'preconnect=echo "EPERM no clients today" >&2; exit 1', 'get_size=echo 1M', 'pread=exit 1'];
    const r = await run(process.execPath, [cliPath(), '-r', '-U', '-', `--filter=${FILTER}`, ...refusing, `logfile=${log}`, '--run', 'nbdinfo "$uri"; nbdinfo "$uri"']);
    expect(r.stderr).toContain('no clients today');
    expect(lines()).toEqual([
      'Ready thread_model=1',
      'Preconnect id=1 readonly=1 ...',
      '...Preconnect id=1 return=-1 error=EPERM',
      'Preconnect id=2 readonly=1 ...',
      '...Preconnect id=2 return=-1 error=EPERM',
    ]);
  });

  it('passes the preconnect check on to the layers beneath when it logs nothing', async () => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'eval', 'preconnect=echo "EPERM no clients today" >&2; exit 1', 'get_size=echo 1M', 'pread=exit 1', '--run', 'nbdinfo "$uri"']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('no clients today');
  });

  it('reports the extents the layer beneath gave, holes and zeroes named', async () => {
    await runServer([`--filter=${FILTER}`, ...DATA, `logfile=${log}`], `nbdsh --base-allocation -u "$uri" -c 'h.block_status(65536, 0, lambda *a: 0)'`);
    expect(lines()).toContain('connection=1 ...Extents id=1 extents=(0x0 0x8000 "hole,zero" 0x8000 0x8000 "") return=0');
  });

  it('numbers connections from 1 and calls from 1 on each', async () => {
    const once = 'nbdsh -u "$uri" -c "h.pread(512, 0)"';
    await runServer([`--filter=${FILTER}`, MEMORY_PLUGIN, `logfile=${log}`], `${once} && ${once}`);
    const calls = lines().filter((l) => / \.\.\.Read /.test(l));
    expect(calls).toEqual(['connection=1 ...Read id=1 return=0', 'connection=2 ...Read id=1 return=0']);
  });

  it('tells the export, quoted for the shell, and what the layer beneath can do', async () => {
    await runServer(['-r', '-e', 'my "$disk"', `--filter=${FILTER}`, 'null', '1M', `logfile=${log}`], 'nbdsh -u "$uri" -c "pass"');
    expect(lines()).toContain(
      'connection=1 Connect export="my \\"\\$disk\\"" tls=0 size=0x100000 minsize=0x0 prefsize=0x0 maxsize=0x0 write=0 flush=1 rotational=0 trim=0 zero=0 fua=0 extents=1 cache=2 fast_zero=0',
    );
  });

  it('logs export lists', async () => {
    const exports = ['eval', "list_exports=printf 'a\\nb c\\n$x\\n'", 'get_size=echo 1M', 'pread=exit 1'];
    await runServer([`--filter=${FILTER}`, ...exports, `logfile=${log}`], 'nbdinfo --list "$uri" > /dev/null');
    expect(lines()).toContain('...ListExports id=1 exports=(a "b c" "\\$x") return=0');
    expect(lines()).toContain('ListExports id=1 readonly=0 tls=0 ...');
  });

  it.each([
    ['EIO', 'h.pread', '512, 0', 'Read'],
    ['ENOSPC', 'h.pwrite', 'bytes(512), 0', 'Write'],
    ['EROFS', 'h.trim', '512, 0', 'Trim'],
  ])('a call that fails is logged with the code of its error (%s)', async (code, call, args, act) => {
    const stack = [`--filter=${FILTER}`, `--filter=${FAULT_FILTER}`, MEMORY_PLUGIN, `logfile=${log}`, `fault-error=${code}`];
    await runServer(stack, `nbdsh -u "$uri" -c '${NBDSH_EXPECT_ERROR}\nexpect_error("${code === 'EROFS' ? 'EPERM' : code}", ${call}, ${args})'`);
    expect(lines()).toContain(`connection=1 ...${act} id=1 return=-1 error=${code}`);
  });

  it('Ready tells the thread model of the layers beneath, as nbdkit numbers them', async () => {
    await runServer([`--filter=${FILTER}`, 'eval', 'thread_model=echo serialize_requests', 'get_size=echo 1M', 'pread=exit 1', `logfile=${log}`], 'true');
    expect(lines()).toEqual(['Ready thread_model=2']);
  });

  it('is emptied when the server starts, unless logappend=true', async () => {
    writeFileSync(log, '# kept\n');
    await runServer([`--filter=${FILTER}`, 'null', `logfile=${log}`, 'logappend=true'], 'true');
    expect(readFileSync(log, 'utf8')).toMatch(/^# kept\n.* Ready thread_model=3\n$/);
    await runServer([`--filter=${FILTER}`, 'null', `logfile=${log}`, 'logappend=false'], 'true');
    expect(readFileSync(log, 'utf8')).toMatch(/^[^#].* Ready thread_model=3\n$/);
  });

  it('loses no line when the server is stopped with a client connected', async () => {
    await withServer([`--filter=${FILTER}`, MEMORY_PLUGIN, `logfile=${log}`], async (s) => {
      const client = run('nbdsh', ['-u', s.uri, '-c', 'import sys\nh.pread(512, 0)\nprint("ready", flush=True)\nsys.stdin.read()']);
      await new Promise<void>((resolve) => {
        const check = () => (existsSync(log) && readFileSync(log, 'utf8').includes('...Read id=1') ? resolve() : setTimeout(check, 20));
        check();
      });
      expect(await s.stop()).toBe(0);
      await client;
    });
    expect(lines().at(-1)).toBe('connection=1 Disconnect transactions=1');
  });

  it('without logfile= nor logscript=, nothing is logged and every call passes', async () => {
    const r = await runServer([`--filter=${FILTER}`, MEMORY_PLUGIN], `nbdsh -u "$uri" -c 'h.pwrite(b"a" * 512, 0)\nassert h.pread(512, 0) == b"a" * 512'`);
    expect(r.stderr).toBe('');
  });
});

describe('the log script', () => {
  it("is run for each event with the event's variables, and each call waits for it", async () => {
    const script = `echo "$type $act connection=$connection id=$id offset=$offset count=$count fua=$fua return=$return error=$error" >> ${out}`;
    const disk = ['eval', 'get_size=echo 1M', `pread=echo plugin reads >> ${out}; dd if=/dev/zero count=$3 iflag=count_bytes status=none`, `pwrite=echo plugin writes >> ${out}; cat > /dev/null`, 'flush=exit 0'];
    await runServer([`--filter=${FILTER}`, ...disk, `logscript=${script}`], `nbdsh -u "$uri" -c 'h.pread(512, 0)\nh.pwrite(bytes(512), 512, nbd.CMD_FLAG_FUA)'`);
    const got = readFileSync(out, 'utf8').trim().split('\n');
    expect(got.slice(0, 1)).toEqual(['PRINT Ready connection= id= offset= count= fua= return= error=']);
    expect(got.filter((l) => / (Read|Write) |plugin/.test(l))).toEqual([
      'ENTER Read connection=1 id=1 offset=0x0 count=0x200 fua= return= error=',
      'plugin reads',
      'LEAVE Read connection=1 id=1 offset= count= fua= return=0 error=',
      'ENTER Write connection=1 id=2 offset=0x200 count=0x200 fua=1 return= error=',
      'plugin writes',
      'LEAVE Write connection=1 id=2 offset= count= fua= return=0 error=',
    ]);
  });

  it('gets lists as bash arrays, and errors as codes', async () => {
    const script = `if [ "$type" = LEAVE ]; then echo "$act \${#extents[@]} \${extents[2]} \${extents[5]} $return $error" >> ${out}; fi`;
    const stack = [`--filter=${FILTER}`, `--filter=${FAULT_FILTER}`, ...DATA, `logscript=${script}`, 'fault-calls=pread', 'fault-error=ENOSPC'];
    await runServer(stack, `nbdsh --base-allocation -u "$uri" -c '${NBDSH_EXPECT_ERROR}\nh.block_status(65536, 0, lambda *a: 0)\nexpect_error("ENOSPC", h.pread, 512, 0)'`);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual(expect.arrayContaining(['Extents 6 hole,zero  0 ', 'Read 0   -1 ENOSPC']));
  });

  it('runs beside the log file when both are given', async () => {
    await runServer([`--filter=${FILTER}`, 'null', `logfile=${log}`, `logscript=echo "$act" >> ${out}`], 'true');
    expect(lines()).toEqual(['Ready thread_model=3']);
    expect(readFileSync(out, 'utf8')).toBe('Ready\n');
  });

  it('that fails is reported on the server log, and the call goes on', async () => {
    const r = await runServer([`--filter=${FILTER}`, MEMORY_PLUGIN, 'logscript=[ "$act" != Read ] || exit 7'], 'nbdsh -u "$uri" -c "h.pread(512, 0)"');
    expect(r.stderr).toContain('log: warning: logscript exited with status 7 (ENTER Read)');
    expect(r.stderr).toContain('log: warning: logscript exited with status 7 (LEAVE Read)');
  });
});

describe('parameters', () => {
  it.each([
    ['logappend=maybe', 'log: logappend=maybe: expected a boolean'],
    ['logfile=', 'log: logfile=: expected a file name'],
    ['logscript=', 'log: logscript=: expected a script'],
  ])('%s is refused', async (param, message) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'null', param, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it('a log file that cannot be opened stops the server at startup, naming it', async () => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'null', `logfile=${dir}/no/such/dir/log`, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`logfile=${dir}/no/such/dir/log: cannot open it: ENOENT`);
  });

  it('--help lists the parameters', async () => {
    const r = await run(process.execPath, [cliPath(), `--filter=${FILTER}`, 'null', '--help']);
    for (const key of ['logfile', 'logappend', 'logscript']) expect(r.stdout).toContain(key);
  });
});
