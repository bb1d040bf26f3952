import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_U32 } from '@nbdkit-ts/core';
import { cliPath, Command, nbdsh, NBDSH_EXPECT_ERROR, run, runOk, type ServerProcess, tempDir, WireClient, withServer } from '@nbdkit-ts/testing';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const K = 1024;
const M = 1024 * 1024;

let dir: string;
let img: string;
let log: string;
/** While this file exists, the disk's pread and pwrite wait for `go` before touching the image. */
let gate: string;
let go: string;

beforeAll(() => {
  dir = tempDir();
  img = join(dir, 'disk.img');
  log = join(dir, 'log');
  gate = join(dir, 'gate');
  go = join(dir, 'go');
});

/** 8 MiB of a pattern in which every 4 KiB block differs and no byte is zero. */
beforeEach(() => {
  writeFileSync(img, Buffer.from(Array.from({ length: 8 * M }, (_, i) => ((i * 7 + (i >> 12)) % 251) + 1)));
  for (const f of [log, gate, go]) rmSync(f, { force: true });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const wait = () => `while [ -e ${gate} ] && [ ! -e ${go} ]; do sleep 0.01; done;`;

/**
 * An eval plugin serving `img`, parallel, that records its calls in the log
 * (`pread COUNT OFFSET`, `pwrite COUNT OFFSET FLAGS`, `zero ...`, `trim
 * ...`, `cache COUNT OFFSET`, `flush`). `extra` adds or overrides snippets.
 */
function disk(...extra: string[]): string[] {
  const method = (snippet: string) => snippet.slice(0, snippet.indexOf('='));
  const overridden = new Set(extra.map(method));
  const base = [
    'thread_model=echo parallel',
    `get_size=stat -c %s ${img}`,
    `pread=echo pread $3 $4 >> ${log}; ${wait()} dd if=${img} skip=$4 count=$3 iflag=skip_bytes,count_bytes status=none`,
    `pwrite=echo pwrite $3 $4 $5 >> ${log}; ${wait()} dd of=${img} seek=$4 conv=notrunc oflag=seek_bytes status=none`,
    `zero=echo zero $3 $4 $5 >> ${log}; dd if=/dev/zero of=${img} seek=$4 count=$3 conv=notrunc iflag=count_bytes oflag=seek_bytes status=none`,
    `trim=echo trim $3 $4 $5 >> ${log}`,
    `flush=echo flush >> ${log}`,
    'can_cache=echo native',
    `cache=echo cache $3 $4 >> ${log}`,
  ];
  return ['eval', ...base.filter((snippet) => !overridden.has(method(snippet))), ...extra];
}

/** The server with this test's stack in front of `args`. */
function withStack<T>(args: readonly string[], body: (server: ServerProcess) => Promise<T>): Promise<T> {
  return withServer(['-v', `--filter=${FILTER}`, ...args], body);
}

/** The log's lines up to the first `--` (see MODEL), without trailing spaces (a call without flags); the log is emptied. */
function logged(): string[] {
  if (!existsSync(log)) return [];
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.trimEnd());
  rmSync(log);
  return lines.includes('--') ? lines.slice(0, lines.indexOf('--')) : lines;
}

/** Waits until `ready` holds, checking every 20 ms, for at most 20 s. */
async function until(what: string, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`waited 20 s for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const count = (line: string): number => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith(line)).length : 0);

/**
 * Python for nbdsh: `model` is the image as the client should see it;
 * `write` and `zero` change both; `check()` ends what the log shows (a line
 * `--`), then compares every byte read through the export, and the image
 * itself after a flush, with the model.
 */
const MODEL = `
img = ${JSON.stringify('IMG')}
model = bytearray(open(img, "rb").read())
def check():
    open(${JSON.stringify('LOG')}, "a").write("--\\n")
    h.flush()
    size = h.get_size()
    for off in range(0, size, 1 << 20):
        n = min(1 << 20, size - off)
        assert h.pread(n, off) == model[off:off + n], "export differs from the model at %d" % off
    assert open(img, "rb").read()[:size] == model[:size], "image differs from the model"
def write(data, off, flags=0):
    h.pwrite(data, off, flags)
    model[off:off + len(data)] = data
def zero(n, off, flags=0):
    h.zero(n, off, flags)
    model[off:off + n] = bytes(n)
`;
const model = () => MODEL.replace('"IMG"', JSON.stringify(img)).replace('"LOG"', JSON.stringify(log));

describe('what the export advertises', () => {
  it('any request size (a maximum of 4G - 1), a preferred size of at least 4096 and minblock, and the size rounded down to minblock', async () => {
    const script = 'print(h.get_size(), h.get_block_size(nbd.SIZE_MINIMUM), h.get_block_size(nbd.SIZE_PREFERRED), h.get_block_size(nbd.SIZE_MAXIMUM))';
    // [snippets of the plugin beneath, parameters, what the client sees]
    const cases: [string[], string[], string][] = [
      [[], [], `${8 * M} 1 4096 ${MAX_U32}`],
      [[], ['minblock=512'], `${8 * M} 1 4096 ${MAX_U32}`],
      [[], ['minblock=64K'], `${8 * M} 1 65536 ${MAX_U32}`],
      [['get_size=echo 5000'], ['minblock=1K'], `4096 1 4096 ${MAX_U32}`],
      [['get_size=echo 5000'], [], `5000 1 4096 ${MAX_U32}`],
      [['block_size=echo 2K 128K 512K', 'get_size=echo 2M'], [], `${2 * M} 1 131072 ${MAX_U32}`],
      [['block_size=echo 2K 8K 512K', 'get_size=echo 5000'], ['minblock=1K'], `4096 1 8192 ${MAX_U32}`],
    ];
    for (const [snippets, params, expected] of cases) {
      await withStack([...disk(...snippets), ...params], async (s) => expect((await nbdsh(s.uri, script)).stdout.trim()).toBe(expected));
    }
  });

  it('takes the minimum and maximum block sizes of each export beneath, and reads only whole blocks there', async () => {
    const plugin = [
      'eval',
      'open=echo $3',
      'get_size=echo 2097151',
      'block_size=case $2 in a) echo 1K 128K 512K ;; b) echo 2K 64K 800K ;; esac',
      `pread=echo pread $2 $3 $4 >> ${log}; dd if=/dev/zero count=$3 iflag=count_bytes status=none`,
    ];
    await withStack(plugin, async (s) => {
      await nbdsh(
        s.uriFor('a'),
        `hb = nbd.NBD()
hb.connect_uri(${JSON.stringify(s.uriFor('b'))})
assert h.get_size() == 2 * 1024 * 1024 - 1024
assert hb.get_size() == 2 * 1024 * 1024 - 2048
assert h.pread(1024 * 1024 + 1, 1) == bytes(1024 * 1024 + 1)
assert hb.pread(1024 * 1024 + 1, 1) == bytes(1024 * 1024 + 1)
`,
      );
    });
    expect(logged()).toEqual([
      `pread a ${K} 0`,
      `pread a ${512 * K} ${K}`,
      `pread a ${511 * K} ${513 * K}`,
      `pread a ${K} ${M}`,
      `pread b ${2 * K} 0`,
      `pread b ${800 * K} ${2 * K}`,
      `pread b ${222 * K} ${802 * K}`,
      `pread b ${2 * K} ${M}`,
    ]);
  });
});

describe('requests beneath (minblock=1K maxdata=512K maxlen=1M)', () => {
  const params = ['minblock=1K', 'maxdata=512K', 'maxlen=1M'];
  const serve = (body: (s: ServerProcess) => Promise<void>, ...extra: string[]) => withStack([...disk(...extra), ...params], body);
  /** Runs the nbdsh `script` (with MODEL) and returns the calls beneath it made before check(). */
  const calls = async (s: ServerProcess, script: string): Promise<string[]> => {
    await nbdsh(s.uri, `${model()}\n${script}\ncheck()`);
    return logged();
  };

  it('reads whole blocks, at most maxdata at a time', async () => {
    await serve(async (s) => {
      expect(await calls(s, 'assert h.pread(1, 1) == model[1:2]\nassert h.pread(1048577, 1) == model[1:1048578]\nassert h.pread(2048, 3072) == model[3072:5120]')).toEqual([
        'pread 1024 0',
        'pread 1024 0',
        'pread 524288 1024',
        'pread 523264 525312',
        'pread 1024 1048576',
        'pread 2048 3072',
      ]);
    });
  });

  it('writes partial blocks by read-modify-write, and whole blocks in pieces of at most maxdata', async () => {
    await serve(async (s) => {
      expect(await calls(s, 'write(b"x", 10001)\nwrite(b"y" * 4094305, 1048575)\nwrite(b"z" * 2048, 6144)')).toEqual([
        'pread 1024 9216',
        'pwrite 1024 9216',
        'pread 1024 1047552',
        'pwrite 1024 1047552',
        ...[0, 1, 2, 3, 4, 5, 6].map((i) => `pwrite 524288 ${M + i * 512 * K}`),
        'pwrite 423936 4718592',
        'pread 1024 5142528',
        'pwrite 1024 5142528',
        'pwrite 2048 6144',
      ]);
    });
  });

  it('zeroes partial blocks by read-modify-write (without may_trim), and whole blocks in pieces of at most maxlen', async () => {
    await serve(async (s) => {
      expect(await calls(s, 'zero(1, 20001)\nzero(2200000, 1050000)\nzero(4096, 8192, nbd.CMD_FLAG_NO_HOLE)')).toEqual([
        'pread 1024 19456',
        'pwrite 1024 19456',
        'pread 1024 1049600',
        'pwrite 1024 1049600',
        'zero 1048576 1050624 may_trim',
        'zero 1048576 2099200 may_trim',
        'zero 101376 3147776 may_trim',
        'pread 1024 3249152',
        'pwrite 1024 3249152',
        'zero 4096 8192',
      ]);
    });
  });

  it('trims only whole blocks, in pieces of at most maxlen, and drops a trim within one block', async () => {
    await serve(async (s) => {
      await nbdsh(s.uri, 'h.trim(1, 30001)\nh.trim(2 * 1048576 + 1, 3 * 1048576 - 1)\nh.trim(3000, 1024)');
      expect(logged()).toEqual([`trim ${M} ${3 * M}`, `trim ${M} ${4 * M}`, 'trim 2048 1024']);
    });
  });

  it('caches the whole blocks holding the range, in pieces of at most maxlen', async () => {
    await serve(async (s) => {
      await nbdsh(s.uri, 'h.cache(1, 1)\nh.cache(2 * 1048576, 1000)\nh.cache(1024, 2048)');
      expect(logged()).toEqual(['cache 1024 0', `cache ${M} 0`, `cache ${M} ${M}`, 'cache 1024 2097152', 'cache 1024 2048']);
    });
  });

  it('refuses a fast zero that is not one aligned request of at most maxlen beneath, and passes the others on', async () => {
    await serve(
      async (s) => {
        await nbdsh(
          s.uri,
          `${NBDSH_EXPECT_ERROR}
expect_error("ENOTSUP", h.zero, 1024, 1, nbd.CMD_FLAG_FAST_ZERO)
expect_error("ENOTSUP", h.zero, 1000, 1024, nbd.CMD_FLAG_FAST_ZERO)
expect_error("ENOTSUP", h.zero, 2 * 1048576, 0, nbd.CMD_FLAG_FAST_ZERO)
h.zero(1048576, 1024, nbd.CMD_FLAG_FAST_ZERO)
`,
        );
        expect(logged()).toEqual([`zero ${M} 1024 may_trim,fast`]);
      },
      'can_fast_zero=exit 0',
    );
  });
});

describe('FUA', () => {
  const params = ['minblock=1K', 'maxdata=4K', 'maxlen=8K'];
  const script = `h.pwrite(b"x" * 9000, 1, nbd.CMD_FLAG_FUA)
h.zero(20000, 10000, nbd.CMD_FLAG_FUA)
h.trim(20480, 0, nbd.CMD_FLAG_FUA)`;

  it('goes with every piece when the layer beneath has it natively', async () => {
    await withStack([...disk('can_fua=echo native'), ...params], async (s) => {
      await nbdsh(s.uri, script);
      const lines = logged().filter((l) => !l.startsWith('pread'));
      expect(lines).toEqual([
        'pwrite 1024 0 fua',
        'pwrite 4096 1024 fua',
        'pwrite 3072 5120 fua',
        'pwrite 1024 8192 fua',
        'pwrite 1024 9216 fua',
        'zero 8192 10240 fua,may_trim',
        'zero 8192 18432 fua,may_trim',
        'zero 3072 26624 fua,may_trim',
        'pwrite 1024 29696 fua',
        'trim 8192 0 fua',
        'trim 8192 8192 fua',
        'trim 4096 16384 fua',
      ]);
    });
  });

  it('is replaced by one flush after the last piece when the layer beneath emulates it', async () => {
    await withStack([...disk('can_fua=echo emulate'), ...params], async (s) => {
      await nbdsh(s.uri, script);
      const lines = logged().filter((l) => !l.startsWith('pread'));
      expect(lines).toEqual([
        'pwrite 1024 0',
        'pwrite 4096 1024',
        'pwrite 3072 5120',
        'pwrite 1024 8192',
        'flush',
        'pwrite 1024 9216',
        'zero 8192 10240 may_trim',
        'zero 8192 18432 may_trim',
        'zero 3072 26624 may_trim',
        'pwrite 1024 29696',
        'flush',
        'trim 8192 0',
        'trim 8192 8192',
        'trim 4096 16384',
        'flush',
      ]);
    });
  });
});

describe('block status', () => {
  /** The map nbdinfo reports, neighbours of the same type merged. */
  async function map(uri: string): Promise<[number, number, number][]> {
    const { stdout } = await runOk('nbdinfo', ['--map', '--json', uri]);
    const out: [number, number, number][] = [];
    for (const { offset, length, type } of JSON.parse(stdout) as { offset: number; length: number; type: number }[]) {
      const last = out.at(-1);
      if (last !== undefined && last[2] === type) last[1] += length;
      else out.push([offset, length, type]);
    }
    return out;
  }

  it('reports whole blocks (past the request to the end of the last), a block partly a hole is data, partly zero is not zero, asking on where the answer stops inside a block', async () => {
    // One extent of 512 bytes per call: zero up to 2K, a hole of zeroes up to 8K, then data.
    const plugin = [
      'eval',
      'get_size=echo 32K',
      'pread=exit 1',
      `extents=echo extents $3 $4 >> ${log}
if [ $(( ($3 | $4) & 511 )) != 0 ] || [ $3 -gt 16384 ]; then echo EINVAL unaligned or too large >&2; exit 1; fi
if [ $4 -lt 2048 ]; then t=2; elif [ $4 -lt 8192 ]; then t=3; else t=0; fi
echo $4 512 $t`,
    ];
    await withStack([...plugin, 'minblock=4K', 'maxlen=16K'], async (s) => {
      expect(await map(s.uri)).toEqual([
        [0, 4096, 2],
        [4096, 4096, 3],
        [8192, 24576, 0],
      ]);
      await nbdsh(
        s.uri,
        `out = []
h.block_status(1, 4095, lambda ctx, o, e, err: out.append(e), nbd.CMD_FLAG_REQ_ONE)
h.block_status(1, 4096, lambda ctx, o, e, err: out.append(e), nbd.CMD_FLAG_REQ_ONE)
h.block_status(512, 512, lambda ctx, o, e, err: out.append(e))
assert out == [[1, 2], [1, 3], [3584, 2]], out
`,
        { baseAllocation: true },
      );
    });
  });

  it('stops at the start of the block where an extent beneath ends inside it', async () => {
    const plugin = ['eval', 'get_size=echo 32K', 'pread=exit 1', 'extents=echo 0 5000 0; echo 5000 27768 3'];
    await withStack([...plugin, 'minblock=4K'], async (s) => {
      expect(await map(s.uri)).toEqual([
        [0, 8192, 0],
        [8192, 24576, 3],
      ]);
    });
  });
});

describe('concurrent writes (minblock=1K), from two connections', () => {
  const fill = (n: number, c: string) => Buffer.alloc(n, c);
  const head = () => readFileSync(img).subarray(0, 1024);

  /**
   * Connects a client to `s`. The socket file appears a moment before the
   * server listens on it, so a refused connection is tried again.
   */
  async function connectTo(s: ServerProcess): Promise<WireClient> {
    for (let tries = 1; ; tries++) {
      try {
        return await WireClient.connect(s.socket);
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'ECONNREFUSED' || tries === 50) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** A write request: where, and what. */
  type Write = [offset: number, data: Buffer];

  /**
   * With the gate closed, sends `first` from one client, waits until
   * `started` holds, sends `second` from another client, waits until `held`
   * holds (failing at once if the server says a request waits when `held`
   * does not hold then) and runs `whileHeld`; then opens the gate and
   * checks that both writes succeed.
   */
  async function race(first: Write, started: () => boolean, second: Write, held: (s: ServerProcess) => boolean, whileHeld = (): void => {}): Promise<void> {
    await withStack([...disk(), 'minblock=1K'], async (s) => {
      const clients = [await connectTo(s), await connectTo(s)];
      try {
        for (const c of clients) await c.open();
        writeFileSync(gate, '');
        clients[0]?.request(Command.WRITE, 1n, BigInt(first[0]), first[1].length, first[1]);
        await until('the first write beneath', started);
        clients[1]?.request(Command.WRITE, 1n, BigInt(second[0]), second[1].length, second[1]);
        await until('the second write', () => held(s) || s.stderr().includes(' waits for the writes in progress'));
        expect(held(s)).toBe(true);
        whileHeld();
        writeFileSync(go, '');
        for (const c of clients) expect((await c.reply()).error).toBe(0);
      } finally {
        for (const c of clients) c.destroy();
      }
    });
  }

  /** Whether the server said that the request at `offset` of `count` bytes waits. */
  const waits = (what: string, offset: number, count: number) => (s: ServerProcess) => s.stderr().includes(`${what} at ${offset} (${count} bytes) waits for the writes in progress on its blocks`);

  it('writes of whole blocks run at the same time, even on the same block', async () => {
    await race([0, fill(1024, '1')], () => true, [0, fill(1024, '2')], () => count('pwrite') === 2);
  });

  it('read-modify-writes of different blocks run at the same time', async () => {
    await race([1, fill(1, '1')], () => true, [1025, fill(1, '2')], () => count('pread') === 2);
    expect(readFileSync(img).subarray(1, 2).toString()).toBe('1');
    expect(readFileSync(img).subarray(1025, 1026).toString()).toBe('2');
  });

  it('a write to a block being read-modify-written waits until it is written', async () => {
    await race([4, fill(12, '3')], () => count('pread 1024 0') === 1, [0, fill(1024, '4')], waits('write', 0, 1024), () => expect(count('pwrite')).toBe(0));
    expect(logged()).toEqual(['pread 1024 0', 'pwrite 1024 0', 'pwrite 1024 0']);
    expect(head().equals(fill(1024, '4'))).toBe(true);
  });

  it('a read-modify-write of a block being written waits until the write is done, and reads what it wrote', async () => {
    await race([0, fill(1024, '5')], () => count('pwrite') === 1, [4, fill(12, '6')], waits('read-modify-write', 4, 12), () => expect(count('pread')).toBe(0));
    expect(logged()).toEqual(['pwrite 1024 0', 'pread 1024 0', 'pwrite 1024 0']);
    expect(head().equals(Buffer.concat([fill(4, '5'), fill(12, '6'), fill(1008, '5')]))).toBe(true);
  });
});

describe('parameters', () => {
  const serve = (params: readonly string[], command = 'true') => run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'null', '1M', ...params, '--run', command]);

  it.each([
    [['minblock=3000'], 'minblock=3000: expected a power of two from 1 to 64K'],
    [['minblock=128K'], 'minblock=128K: expected a power of two from 1 to 64K'],
    [['minblock=0'], 'minblock=0: must not be zero'],
    [['maxdata=0'], 'maxdata=0: must not be zero'],
    [['maxlen=4G'], 'maxlen=4G: must be at most 4294967295 (4G - 1)'],
    [['maxdata=lots'], 'maxdata=lots: expected a size such as'],
    [['minblock=512', 'maxdata=1000'], 'maxdata=1000: must be a multiple of minblock=512'],
    [['maxlen=1536', 'minblock=1K'], 'maxlen=1536: must be a multiple of minblock=1K'],
  ])('%j is refused', async (params, message) => {
    const r = await serve(params);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`blocksize: ${message}`);
  });

  it('accepts maxdata and maxlen that are not powers of two, and sizes up to 4G - 1', async () => {
    const r = await serve(['minblock=512', 'maxdata=1536', 'maxlen=4294966784'], 'nbdinfo --size "$uri"');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('1048576');
  });

  it.each([
    ['64K 64K 1M', 'maxdata=4K', 'blocksize: maxdata=4K is smaller than the minimum block size of the layer beneath (eval: 65536)'],
    ['64K 64K 1M', 'maxlen=32K', 'blocksize: maxlen=32K is smaller than the minimum block size of the layer beneath (eval: 65536)'],
    ['512 4K 4K', 'minblock=64K', 'blocksize: minblock=64K is larger than the maximum block size of the layer beneath (eval: 4096)'],
  ])('over a layer beneath with block sizes %s, %s refuses the connection', async (sizes, param, message) => {
    const plugin = ['eval', 'get_size=echo 1M', `block_size=echo ${sizes}`, 'pread=dd if=/dev/zero count=$3 iflag=count_bytes status=none'];
    const r = await run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, ...plugin, param, '--run', 'nbdinfo --size "$uri"']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
  });
});
