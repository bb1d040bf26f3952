import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, MEMORY_PLUGIN, nbdsh, NBDSH_EXPECT_ERROR, run, type ServerProcess, tempDir, withServer } from '@nbdkit-ts/testing';

const FILTER = 'nocache';

let dir: string;
let log: string;

beforeAll(() => {
  dir = tempDir();
  log = join(dir, 'log');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An eval plugin of 64 MiB that records every read and cache it is asked for (`pread COUNT OFFSET`) in the log. */
function recordingPlugin(cache: 'native' | 'none'): string[] {
  return [
    'eval',
    'get_size=echo 64M',
    `pread=echo pread $3 $4 >> ${log}; dd if=/dev/zero count=$3 iflag=count_bytes status=none`,
    ...(cache === 'native' ? [`cache=echo cache $3 $4 >> ${log}`] : []),
  ];
}

/** The server, with the log of the calls beneath emptied first. */
function withStack<T>(args: readonly string[], body: (server: ServerProcess) => Promise<T>): Promise<T> {
  rmSync(log, { force: true });
  return withServer(args, body);
}

const logged = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);

describe('cachemode', () => {
  it('without the filter, cache requests reach the plugin', async () => {
    await withStack(recordingPlugin('native'), async (s) => {
      await nbdsh(s.uri, 'assert h.can_cache()\nh.cache(4096, 8192)');
      expect(logged()).toEqual(['cache 4096 8192']);
    });
  });

  it.each([[[]], [['cachemode=none']]])('%j: cache is not advertised, even when the plugin has it', async (params) => {
    await withStack([`--filter=${FILTER}`, ...recordingPlugin('native'), ...params], async (s) => {
      await nbdsh(s.uri, 'assert not h.can_cache()');
      expect(logged()).toEqual([]);
    });
  });

  it('none: a client that sends cache anyway gets EINVAL, and nothing reaches the plugin', async () => {
    await withStack([`--filter=${FILTER}`, ...recordingPlugin('native')], async (s) => {
      await nbdsh(s.uri, `${NBDSH_EXPECT_ERROR}
h.set_strict_mode(0)
expect_error("EINVAL", h.cache, 4096, 0)
`);
      expect(logged()).toEqual([]);
    });
  });

  it('emulate: advertised, and done by reading the whole range, whatever the plugin has', async () => {
    for (const cache of ['native', 'none'] as const) {
      await withStack([`--filter=${FILTER}`, ...recordingPlugin(cache), 'cachemode=emulate'], async (s) => {
        await nbdsh(s.uri, 'assert h.can_cache()\nh.cache(4096, 8192)');
        expect(logged()).toEqual(['pread 4096 8192']);
        // A large one may be read in several requests (the server's choice): together they cover the range once.
        rmSync(log);
        await nbdsh(s.uri, 'h.cache(40 << 20, 1 << 20)');
        let at = 1 << 20;
        for (const line of logged()) {
          const [call, count, offset] = line.split(' ');
          expect([call, Number(offset)]).toEqual(['pread', at]);
          at += Number(count);
        }
        expect(at).toBe(41 << 20);
      });
    }
  });

  it.each(['nop', 'no-op'])('%s: advertised, and every cache request succeeds at once without reaching the plugin', async (mode) => {
    for (const cache of ['native', 'none'] as const) {
      await withStack([`--filter=${FILTER}`, ...recordingPlugin(cache), `cachemode=${mode}`], async (s) => {
        await nbdsh(s.uri, 'assert h.can_cache()\nh.cache(4096, 8192)\nh.cache(1 << 20, 0)');
        expect(logged()).toEqual([]);
      });
    }
  });

  it.each(['none', 'emulate', 'nop'])('%s: everything else passes through, data included', async (mode) => {
    await withStack([`--filter=${FILTER}`, MEMORY_PLUGIN, `cachemode=${mode}`], async (s) => {
      const { stdout } = await nbdsh(
        s.uri,
        `h.pwrite(b"xyz" * 1000, 4096)
assert h.pread(3000, 4096) == b"xyz" * 1000
print(h.can_zero(), h.can_fast_zero(), h.can_fua(), h.can_trim(), h.can_flush(), h.can_multi_conn(), h.is_read_only())`,
      );
      expect(stdout.trim()).toBe('True True True True True True False');
    });
  });

  it('the modes work on a read-only connection too', async () => {
    await withStack(['-r', `--filter=${FILTER}`, ...recordingPlugin('native'), 'cachemode=emulate'], async (s) => {
      await nbdsh(s.uri, 'assert h.is_read_only()\nassert h.can_cache()\nh.cache(512, 0)');
      expect(logged()).toEqual(['pread 512 0']);
    });
  });
});

describe('parameters', () => {
  it.each(['cachemode=bogus', 'cachemode=', 'cachemode=Emulate', 'cachemode=passthrough'])('%s is refused', async (param) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'null', param, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`nocache: ${param}: unknown mode: expected none, emulate or nop`);
  });
});
