import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, MEMORY_PLUGIN, nbdsh, NBDSH_EXPECT_ERROR, run, type ServerProcess, tempDir, withServer } from '@nbdkit-ts/testing';

const FILTER = 'nozero';

let dir: string;
let log: string;

beforeAll(() => {
  dir = tempDir();
  log = join(dir, 'log');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * An eval plugin of 4 MiB that records its writes, zeroes and flushes
 * (`pwrite COUNT OFFSET FLAGS`, `zero COUNT OFFSET FLAGS`, `flush`) in the
 * log. It zeroes natively; `extra` adds or overrides snippets.
 */
function recordingPlugin(...extra: string[]): string[] {
  return [
    'eval',
    'get_size=echo 4M',
    'pread=dd if=/dev/zero count=$3 iflag=count_bytes status=none',
    `pwrite=echo pwrite $3 $4 $5 >> ${log}; cat > /dev/null`,
    `zero=echo zero $3 $4 $5 >> ${log}`,
    `flush=echo flush >> ${log}`,
    ...extra,
  ];
}

/** The server, with the log of the calls beneath emptied first. */
function withStack<T>(args: readonly string[], body: (server: ServerProcess) => Promise<T>): Promise<T> {
  rmSync(log, { force: true });
  return withServer(args, body);
}

/** The log's lines, without trailing spaces (a call without flags). */
const logged = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => l.trimEnd()) : []);

const FLAGS = 'print(h.can_zero(), h.can_fast_zero())';
const flagsOf = async (s: ServerProcess): Promise<string> => (await nbdsh(s.uri, FLAGS)).stdout.trim();

describe('advertised flags', () => {
  // [parameters, over a plugin with fast zero, over a plugin without]
  it.each([
    [[], 'False False', 'False False'],
    [['zeromode=none', 'fastzeromode=slow'], 'False False', 'False False'],
    [['zeromode=emulate'], 'True True', 'True True'],
    [['zeromode=emulate', 'fastzeromode=none'], 'True False', 'True False'],
    [['zeromode=emulate', 'fastzeromode=slow'], 'True True', 'True True'],
    [['zeromode=emulate', 'fastzeromode=ignore'], 'True True', 'True True'],
    [['zeromode=notrim'], 'True True', 'True False'],
    [['zeromode=plugin'], 'True True', 'True False'],
    [['zeromode=plugin', 'fastzeromode=default'], 'True True', 'True False'],
    [['zeromode=plugin', 'fastzeromode=none'], 'True False', 'True False'],
    [['zeromode=plugin', 'fastzeromode=slow'], 'True True', 'True True'],
    [['zeromode=notrim', 'fastzeromode=ignore'], 'True True', 'True True'],
  ])('%j: with fast zero beneath %s, without %s', async (params, withFast, withoutFast) => {
    await withStack([`--filter=${FILTER}`, ...recordingPlugin('can_fast_zero=exit 0'), ...params], async (s) => expect(await flagsOf(s)).toBe(withFast));
    await withStack([`--filter=${FILTER}`, ...recordingPlugin('can_fast_zero=exit 3'), ...params], async (s) => expect(await flagsOf(s)).toBe(withoutFast));
  });

  it('nothing else changes', async () => {
    const script = 'print(h.can_cache(), h.can_fua(), h.can_trim(), h.can_flush(), h.can_multi_conn(), h.is_read_only())';
    for (const mode of ['none', 'emulate', 'notrim', 'plugin']) {
      await withStack([`--filter=${FILTER}`, MEMORY_PLUGIN, `zeromode=${mode}`], async (s) => {
        expect((await nbdsh(s.uri, script)).stdout.trim()).toBe('True True True True True False');
      });
    }
  });

  it('a read-only connection advertises no zero, whatever the mode', async () => {
    for (const mode of ['none', 'emulate', 'notrim', 'plugin']) {
      await withStack(['-r', `--filter=${FILTER}`, MEMORY_PLUGIN, `zeromode=${mode}`, 'fastzeromode=slow'], async (s) => expect(await flagsOf(s)).toBe('False False'));
    }
  });
});

/** Python for nbdsh: a fast zero (printing `fast ok` or `fast ERRNO`), a zero with FUA across two writes' worth, a plain zero. */
const ZEROES = `
try:
    h.zero(4096, 0, nbd.CMD_FLAG_FAST_ZERO)
    print("fast ok")
except nbd.Error as e:
    print("fast", e.errno)
h.zero(1536 * 1024, 0, nbd.CMD_FLAG_FUA)
h.zero(4096, 8192)
`;

describe('zero requests', () => {
  it('none: a client that sends zero anyway gets EINVAL, nothing reaches the plugin, and writing zeroes works', async () => {
    await withStack([`--filter=${FILTER}`, ...recordingPlugin()], async (s) => {
      await nbdsh(s.uri, `${NBDSH_EXPECT_ERROR}
h.set_strict_mode(0)
expect_error("EINVAL", h.zero, 4096, 0)
h.pwrite(bytearray(4096), 0)
`);
      expect(logged()).toEqual(['pwrite 4096 0']);
    });
  });

  it.each([
    ['zeromode=emulate', 'fast ENOTSUP', ['pwrite 1048576 0 fua', 'pwrite 524288 1048576 fua', 'pwrite 4096 8192']],
    ['zeromode=emulate fastzeromode=slow', 'fast ENOTSUP', ['pwrite 1048576 0 fua', 'pwrite 524288 1048576 fua', 'pwrite 4096 8192']],
    ['zeromode=emulate fastzeromode=ignore', 'fast ok', ['pwrite 4096 0', 'pwrite 1048576 0 fua', 'pwrite 524288 1048576 fua', 'pwrite 4096 8192']],
    ['zeromode=notrim', 'fast ok', ['zero 4096 0 fast', 'zero 1572864 0 fua', 'zero 4096 8192']],
    ['zeromode=notrim fastzeromode=slow', 'fast ENOTSUP', ['zero 1572864 0 fua', 'zero 4096 8192']],
    ['zeromode=notrim fastzeromode=ignore', 'fast ok', ['zero 4096 0', 'zero 1572864 0 fua', 'zero 4096 8192']],
    ['zeromode=plugin', 'fast ok', ['zero 4096 0 may_trim,fast', 'zero 1572864 0 fua,may_trim', 'zero 4096 8192 may_trim']],
    ['zeromode=plugin fastzeromode=slow', 'fast ENOTSUP', ['zero 1572864 0 fua,may_trim', 'zero 4096 8192 may_trim']],
    ['zeromode=plugin fastzeromode=ignore', 'fast ok', ['zero 4096 0 may_trim', 'zero 1572864 0 fua,may_trim', 'zero 4096 8192 may_trim']],
  ])('%s: the fast zero says "%s", the plugin sees %j', async (params, fast, calls) => {
    await withStack([`--filter=${FILTER}`, ...recordingPlugin('can_fast_zero=exit 0', 'can_fua=echo native'), ...params.split(' ')], async (s) => {
      expect((await nbdsh(s.uri, ZEROES)).stdout.trim()).toBe(fast);
      expect(logged()).toEqual(calls);
    });
  });

  it('emulate: with FUA emulated beneath, only the last write is followed by a flush', async () => {
    await withStack([`--filter=${FILTER}`, ...recordingPlugin('can_fua=echo emulate'), 'zeromode=emulate'], async (s) => {
      await nbdsh(s.uri, 'h.zero(1536 * 1024, 0, nbd.CMD_FLAG_FUA)');
      expect(logged()).toEqual(['pwrite 1048576 0', 'pwrite 524288 1048576', 'flush']);
    });
  });

  it.each(['emulate', 'notrim', 'plugin'])('%s: zeroed ranges read back as zeroes, their neighbours stay', async (mode) => {
    await withStack([`--filter=${FILTER}`, MEMORY_PLUGIN, `zeromode=${mode}`], async (s) => {
      await nbdsh(
        s.uri,
        `M = 1 << 20
h.pwrite(b"\\xab" * (3 * M), 0)
h.zero(2 * M, M // 2, nbd.CMD_FLAG_FUA)
h.zero(100, 3 * M - 100)
assert h.pread(M // 2, 0) == b"\\xab" * (M // 2)
assert h.pread(2 * M, M // 2) == bytes(2 * M)
assert h.pread(M // 2 - 100, 5 * M // 2) == b"\\xab" * (M // 2 - 100)
assert h.pread(100, 3 * M - 100) == bytes(100)
`,
      );
    });
  });
});

describe('modes that need zero beneath', () => {
  // The inner nozero takes no parameter (the outer one declares the same keys): it advertises no zero.
  const stack = (mode: string) => [`--filter=${FILTER}`, `--filter=${FILTER}`, MEMORY_PLUGIN, `zeromode=${mode}`];

  it.each(['notrim', 'plugin'])('%s: a client cannot connect when the layer beneath cannot zero, and the server says why', async (mode) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', ...stack(mode), '--run', 'nbdsh -u "$uri" -c "pass"']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`nozero: zeromode=${mode} needs the layer beneath (nozero) to support zero, and it does not`);
  });

  it.each(['notrim', 'plugin'])('%s: a read-only connection is served all the same', async (mode) => {
    await withStack(['-r', ...stack(mode)], async (s) => expect(await flagsOf(s)).toBe('False False'));
  });

  it('emulate needs nothing beneath but writes', async () => {
    await withStack(stack('emulate'), async (s) => {
      expect(await flagsOf(s)).toBe('True True');
      await nbdsh(s.uri, 'h.pwrite(b"x" * 4096, 0)\nh.zero(4096, 0)\nassert h.pread(4096, 0) == bytes(4096)');
    });
  });
});

describe('parameters', () => {
  it.each([
    ['zeromode=bogus', 'zeromode=bogus: unknown mode: expected none, emulate, notrim or plugin'],
    ['zeromode=', 'zeromode=: unknown mode: expected none, emulate, notrim or plugin'],
    ['zeromode=Emulate', 'zeromode=Emulate: unknown mode: expected none, emulate, notrim or plugin'],
    ['fastzeromode=bogus', 'fastzeromode=bogus: unknown mode: expected default, none, slow or ignore'],
    ['fastzeromode=fast', 'fastzeromode=fast: unknown mode: expected default, none, slow or ignore'],
  ])('%s is refused', async (param, message) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'null', param, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`nozero: ${message}`);
  });
});
