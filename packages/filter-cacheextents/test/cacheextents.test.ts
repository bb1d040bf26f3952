import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nbdsh, type ServerProcess, tempDir, withServer } from '@nbdkit-ts/testing';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));

let dir: string;
let log: string;

beforeAll(() => {
  dir = tempDir();
  log = join(dir, 'log');
});

beforeEach(() => rmSync(log, { force: true }));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * An eval plugin of 4 MiB, whose handle is the export name, that records
 * each extents call (`extents EXPORT COUNT OFFSET FLAGS`) and answers for
 * the whole disk: a hole of zeroes, data, then a hole.
 */
function disk(): string[] {
  return [
    'eval',
    'get_size=echo 4M',
    'open=echo "x$3"',
    'pread=dd if=/dev/zero count=$3 iflag=count_bytes status=none',
    'pwrite=cat > /dev/null',
    'trim=exit 0',
    'zero=exit 0',
    'flush=exit 0',
    `extents=echo extents $2 $3 $4 $5 >> ${log}; echo 0 1M hole,zero; echo 1M 1M; echo 2M 2M hole`,
  ];
}

/** The server with this test's stack in front of `args`. */
function withStack<T>(args: readonly string[], body: (server: ServerProcess) => Promise<T>): Promise<T> {
  return withServer([...args, `--filter=${FILTER}`, ...disk()], body);
}

/** The extents calls that reached the plugin, without trailing spaces (a call without flags). */
const calls = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => l.trimEnd()) : []);

/** Python for nbdsh: `status(h, count, offset, flags=0)` prints the extents the server answered, as `LENGTH:TYPE ...`. */
const STATUS = `
def status(h, count, offset, flags=0):
    got = []
    def f(meta, off, entries, err):
        got.extend("%d:%d" % (entries[i], entries[i + 1]) for i in range(0, len(entries), 2))
    h.block_status(count, offset, f, flags)
    print(" ".join(got))
`;

const run = async (s: ServerProcess, script: string, uri = s.uri): Promise<string[]> =>
  (await nbdsh(uri, STATUS + script, { baseAllocation: true })).stdout.trim().split('\n');

const M = 1 << 20;

describe('block status', () => {
  it('answers the queries an answer of the layer beneath covers, without asking again', async () => {
    await withStack([], async (s) => {
      const out = await run(s, 'M = 1 << 20\nstatus(h, 4 * M, 0)\nstatus(h, M, M)\nstatus(h, 512, 3 * M)\nstatus(h, 512, M // 2)');
      // Each answer runs to the end of the extent that holds the end of the query, as nbdkit's.
      expect(out).toEqual([`${M}:3 ${M}:0 ${2 * M}:1`, `${M}:0`, `${M}:1`, `${M / 2}:3`]);
      expect(calls()).toEqual([`extents x ${4 * M} 0`]);
    });
  });

  it('asks the layer beneath for more than one extent even when the client asks for one, and the client gets one', async () => {
    await withStack([], async (s) => {
      const out = await run(s, 'status(h, 4096, 0, nbd.CMD_FLAG_REQ_ONE)\nstatus(h, 4096, 2 << 20, nbd.CMD_FLAG_REQ_ONE)');
      expect(out).toEqual(['4096:3', '4096:1']);
      expect(calls()).toEqual(['extents x 4096 0']);
    });
  });

  it.each([
    ['write', 'h.pwrite(b"x" * 512, 0)'],
    ['trim', 'h.trim(512, 0)'],
    ['zero', 'h.zero(512, 0)'],
  ])('a %s drops the cache', async (_name, call) => {
    await withStack([], async (s) => {
      await run(s, `status(h, 4096, 0)\nstatus(h, 4096, 0)\n${call}\nstatus(h, 4096, 0)\nstatus(h, 4096, 0)`);
      expect(calls()).toEqual(['extents x 4096 0', 'extents x 4096 0']);
    });
  });

  it('reads and flushes keep the cache', async () => {
    await withStack([], async (s) => {
      await run(s, 'status(h, 4096, 0)\nh.pread(512, 0)\nh.flush()\nstatus(h, 4096, 0)');
      expect(calls()).toEqual(['extents x 4096 0']);
    });
  });

  it('is shared by the connections to an export: one answers from what another asked, and a write on either drops it', async () => {
    await withStack([], async (s) => {
      await run(
        s,
        `h2 = nbd.NBD()
h2.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
h2.connect_uri(${JSON.stringify(s.uri)})
status(h, 4096, 0)
status(h2, 4096, 0)
h2.pwrite(b"x" * 512, 0)
status(h, 4096, 0)`,
      );
      expect(calls()).toEqual(['extents x 4096 0', 'extents x 4096 0']);
    });
  });

  it('does not answer an export from what the layer beneath said about another', async () => {
    await withStack([], async (s) => {
      await run(s, 'status(h, 4096, 0)', s.uriFor('a'));
      await run(s, 'status(h, 4096, 0)', s.uriFor('b'));
      await run(s, 'status(h, 4096, 0)', s.uriFor('b'));
      expect(calls()).toEqual(['extents xa 4096 0', 'extents xb 4096 0']);
    });
  });

  it('-D cacheextents.cache=1 tells what the cache does', async () => {
    await withStack(['-v', '-D', 'cacheextents.cache=1'], async (s) => {
      await run(s, 'status(h, 4096, 0)\nstatus(h, 4096, 0)');
      expect(s.stderr()).toContain('offset 0: not in the cache; the layer beneath answered 0 to 4194304');
      expect(s.stderr()).toContain('offset 0: answered from the cache (0 to 4194304)');
    });
  });
});
