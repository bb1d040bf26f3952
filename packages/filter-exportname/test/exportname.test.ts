import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { cliPath, run, runOk, type ServerProcess, withServer } from '@nbdkit-ts/testing';

const FILTER = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * An eval plugin with three exports, a (the default), b and c, described x,
 * y and z in its list and 1, 2, 3 when open; export N is N bytes long. Any
 * other name opens as a 9-byte export with no description.
 */
const PLUGIN = [
  'eval',
  "list_exports=printf 'INTERLEAVED\\na\\nx\\nb\\ny\\nc\\nz\\n'",
  'default_export=echo a',
  'open=echo "x$3"',
  'get_size=case $2 in xa) echo 1;; xb) echo 2;; xc) echo 3;; *) echo 9;; esac',
  'export_description=case $2 in xa) echo 1;; xb) echo 2;; xc) echo 3;; *) exit 2;; esac',
  'pread=dd if=/dev/zero count=$3 iflag=count_bytes status=none',
];

/** The server with this test's stack in front of `params`. */
function withStack<T>(params: readonly string[], body: (server: ServerProcess) => Promise<T>): Promise<T> {
  return withServer([`--filter=${FILTER}`, ...PLUGIN, ...params], body);
}

/** The export list, as [name, description, size] sorted by name. */
async function list(s: ServerProcess): Promise<(string | number | null)[][]> {
  const r = await runOk('nbdinfo', ['--json', '--list', s.uri]);
  const exports = (JSON.parse(r.stdout) as { exports: { 'export-name': string; description?: string; 'export-size': number }[] }).exports;
  return exports.map((e) => [e['export-name'], e.description ?? null, e['export-size']]).sort();
}

/** What a client asking for `name` gets: "CANONICAL-NAME|DESCRIPTION|SIZE". */
async function open(s: ServerProcess, name: string): Promise<string> {
  const script = `
h.set_full_info(True)
h.set_export_name(${JSON.stringify(name)})
h.connect_unix(${JSON.stringify(s.socket)})
try:
    d = h.get_export_description()
except nbd.Error:
    d = None
print("%s|%s|%d" % (h.get_canonical_export_name(), d, h.get_size()))
`;
  return (await runOk('nbdsh', ['-c', script])).stdout.trim();
}

/** Whether a client asking for `name` is refused. */
async function refused(s: ServerProcess, name: string): Promise<boolean> {
  const r = await run('nbdsh', ['-u', s.uriFor(name), '-c', 'pass']);
  return r.status !== 0;
}

describe('default-export', () => {
  it('without it, the default export is the one of the layer beneath', async () => {
    await withStack([], async (s) => expect(await open(s, '')).toBe('a|1|1'));
  });

  it('default-export=NAME: a client asking for "" gets NAME', async () => {
    await withStack(['default-export=b'], async (s) => {
      expect(await open(s, '')).toBe('b|2|2');
      expect(await open(s, 'c')).toBe('c|3|3');
    });
  });

  it('default-export= (empty): the export is named "", and the layer beneath serves its own default', async () => {
    await withStack(['default-export='], async (s) => expect(await open(s, '')).toBe('|1|1'));
  });
});

describe('exportname-list', () => {
  const ALL = [
    ['a', 'x', 1],
    ['b', 'y', 2],
    ['c', 'z', 3],
  ];

  it.each([[[]], [['exportname-list=keep']]])('%j: the list of the layer beneath', async (params) => {
    await withStack(params, async (s) => expect(await list(s)).toEqual(ALL));
  });

  it('error: listing fails, connecting still works', async () => {
    await withStack(['exportname-list=error'], async (s) => {
      const r = await run('nbdinfo', ['--json', '--list', s.uri]);
      expect(r.status).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(await open(s, 'b')).toBe('b|2|2');
    });
  });

  it('empty: no export', async () => {
    await withStack(['exportname-list=empty'], async (s) => expect(await list(s)).toEqual([]));
  });

  it.each([
    [['exportname-list=defaultonly'], [['a', null, 1]]],
    [['exportname-list=default-only', 'default-export=b', 'exportname=a'], [['b', null, 2]]],
  ])('%j: the default export alone, undescribed', async (params, want) => {
    await withStack(params, async (s) => expect(await list(s)).toEqual(want));
  });

  it('defaultonly: empty when the default export is not allowed', async () => {
    await withStack(['exportname-list=defaultonly', 'exportname-strict=true', 'exportname=a'], async (s) => expect(await list(s)).toEqual([]));
  });

  it('explicit: the names given with exportname=, in order, each once', async () => {
    await withStack(['exportname-list=explicit', 'exportname=b', 'exportname=a', 'exportname=b', 'exportname=new one'], async (s) => {
      const r = await runOk('nbdinfo', ['--json', '--list', s.uri]);
      const names = (JSON.parse(r.stdout) as { exports: { 'export-name': string }[] }).exports.map((e) => e['export-name']);
      expect(names).toEqual(['b', 'a', 'new one']);
      expect(await list(s)).toEqual([
        ['a', null, 1],
        ['b', null, 2],
        ['new one', null, 9],
      ]);
    });
  });

  it('explicit without exportname=: no export', async () => {
    await withStack(['exportname-list=explicit'], async (s) => expect(await list(s)).toEqual([]));
  });
});

describe('exportname-strict', () => {
  it('false (the default): any name can be opened', async () => {
    await withStack(['exportname=a', 'exportname-strict=false'], async (s) => expect(await open(s, 'anything')).toBe('anything|None|9'));
  });

  it('true: only the names given with exportname= can be opened, and the refusal is logged', async () => {
    await withStack(['exportname-strict=true', 'exportname=a', 'exportname=b'], async (s) => {
      expect(await open(s, 'b')).toBe('b|2|2');
      expect(await refused(s, 'c')).toBe(true);
      expect(s.stderr()).toContain('export "c" not found: exportname-strict is on and no exportname= gives it');
    });
  });

  it('true: the default export only when exportname= gives ""', async () => {
    await withStack(['exportname-strict=true', 'exportname=a'], async (s) => expect(await refused(s, '')).toBe(true));
    await withStack(['exportname-strict=true', 'exportname=a', 'exportname=', 'default-export=a'], async (s) => expect(await open(s, '')).toBe('a|1|1'));
    await withStack(['exportname-strict=true', 'exportname='], async (s) => expect(await open(s, '')).toBe('|1|1'));
  });
});

describe('exportdesc', () => {
  it.each([
    [['exportdesc=keep'], ['x', 'y', 'z'], 'b|2|2'],
    [['exportdesc=none'], [null, null, null], 'b|None|2'],
    [['exportdesc=fixed:hi there'], ['hi there', 'hi there', 'hi there'], 'b|hi there|2'],
    [['exportdesc=fixed:'], [null, null, null], 'b||2'],
    [['exportdesc=script:echo "<$name$name>"'], ['<aa>', '<bb>', '<cc>'], 'b|<bb>|2'],
  ])('%j: in the list %j, to a client that opens b "%s"', async (params, described, opened) => {
    await withStack(params, async (s) => {
      expect((await list(s)).map((e) => e[1])).toEqual(described);
      expect(await open(s, 'b')).toBe(opened);
    });
  });

  it('script: $name is set whatever the name holds, and only one final newline goes', async () => {
    const name = `it's "$b" \\ \`x\``;
    await withStack(['exportdesc=script:printf "%s\\n\\n" "$name"'], async (s) => expect(await open(s, name)).toBe(`${name}|${name}\n|9`));
  });

  it('script: the description is cut to 4096 bytes, never inside a character', async () => {
    await withStack(['exportdesc=script:printf "x"; for i in $(seq 2048); do printf "é"; done'], async (s) => {
      const got = await open(s, 'b');
      expect(got).toBe(`b|x${'é'.repeat(2047)}|2`);
    });
  });

  it('script: a script that fails gives no description, and says why on the log', async () => {
    await withStack(['exportdesc=script:echo partial; exit 3'], async (s) => {
      expect(await open(s, 'b')).toBe('b|None|2');
      expect(s.stderr()).toContain('exportdesc script for export "b": exited with status 3');
    });
  });
});

describe('parameters', () => {
  const long = 'n'.repeat(4097);
  it.each([
    ['exportname-list=all', 'exportname-list=all: unknown mode: expected keep, error, empty, defaultonly or explicit'],
    ['exportdesc=plain', 'exportdesc=plain: unknown mode: expected keep, none, fixed:TEXT or script:SCRIPT'],
    ['exportdesc=KEEP', 'exportdesc=KEEP: unknown mode: expected keep, none, fixed:TEXT or script:SCRIPT'],
    ['exportname-strict=sometimes', 'exportname-strict=sometimes: expected a boolean'],
    [`exportname=${long}`, 'exportname: the name is 4097 bytes long; NBD allows at most 4096'],
    [`default-export=${long}`, 'default-export: the name is 4097 bytes long; NBD allows at most 4096'],
  ])('%s is refused', async (param, message) => {
    const r = await run(process.execPath, [cliPath(), '-U', '-', `--filter=${FILTER}`, 'null', param, '--run', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`exportname: ${message}`);
  });

  it('--help lists the parameters', async () => {
    const r = await run(process.execPath, [cliPath(), `--filter=${FILTER}`, 'null', '--help']);
    for (const key of ['default-export', 'exportname-list', 'exportname-strict', 'exportname', 'exportdesc']) expect(r.stdout).toContain(key);
  });
});

