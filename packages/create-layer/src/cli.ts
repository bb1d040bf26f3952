import type { LayerKind } from './layer.js';
import { displayPath, scaffold } from './scaffold.js';

/** Where {@link main} writes and what it starts from. */
export interface Io {
  /** Writes to standard output. */
  readonly out: (text: string) => void;
  /** Writes to standard error. */
  readonly err: (text: string) => void;
  /** The working directory. */
  readonly cwd: string;
}

const processIo = (): Io => ({ out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), cwd: process.cwd() });

/** The command's name: the bin of `@nbdkit-ts/create-KIND`. */
export const commandName = (kind: LayerKind): string => `create-${kind}`;

/** The text of `--help`. */
export function usage(kind: LayerKind): string {
  const cmd = commandName(kind);
  const example = kind === 'filter' ? 'my-filter' : 'my-disk';
  const what =
    kind === 'filter'
      ? `package.json; src/index.ts, a filter that passes every request through, with one
parameter (NAME-log=); test/conformance.test.ts; README.md, its manual; tsconfig.json,
tsconfig.build.json, vitest.config.ts and .gitignore.`
      : `package.json; src/index.ts, a plugin that serves a disk in memory of size= bytes;
test/conformance.test.ts; README.md, its manual; tsconfig.json, tsconfig.build.json,
vitest.config.ts and .gitignore.`;
  return `Usage: npm init @nbdkit-ts/${kind} NAME [-- --dir DIR]
       ${cmd} NAME [--dir DIR]
       ${cmd} --help

Writes a ready package for an nbdkit-ts ${kind} named NAME into ./nbdkit-ts-${kind}-NAME
(or DIR): ${what}

  NAME        the ${kind}'s name, as in ${kind === 'filter' ? 'nbdkit-ts --filter=NAME' : 'nbdkit-ts NAME'}: lowercase
              letters, digits and dashes, starting with a letter (such as ${example})
  --dir DIR   write the package into DIR, which must not exist or be empty
  -h, --help  print this help

Example: npm init @nbdkit-ts/${kind} ${example}
`;
}

interface Args {
  readonly help: boolean;
  readonly name: string | undefined;
  readonly dir: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  let help = false;
  let dir: string | undefined;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') help = true;
    else if (arg === '--dir' || arg.startsWith('--dir=')) {
      const value = arg === '--dir' ? argv[++i] : arg.slice('--dir='.length);
      if (value === undefined || value === '') throw new Error('--dir needs a directory: --dir DIR');
      dir = value;
    } else if (arg === '--') {
      names.push(...argv.slice(i + 1));
      break;
    } else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else names.push(arg);
  }
  if (names.length > 1) throw new Error(`one NAME only, got ${names.map((n) => `"${n}"`).join(', ')}`);
  return { help, name: names[0], dir };
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A path as it can be pasted into a shell. */
const shellWord = (s: string): string => (/^[\w./@:+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);

/**
 * The command `create-KIND`: writes the package of a new layer as `argv`
 * asks (`NAME [--dir DIR]`, or `--help`). Returns the exit status: 0, or 1
 * after printing what is wrong.
 */
export function main(kind: LayerKind, argv: readonly string[], io: Io = processIo()): number {
  const cmd = commandName(kind);
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    io.err(`${cmd}: ${errorMessage(e)}\nTry ${cmd} --help.\n`);
    return 1;
  }
  if (args.help) {
    io.out(usage(kind));
    return 0;
  }
  if (args.name === undefined) {
    io.err(`${cmd}: NAME is missing: ${cmd} NAME [--dir DIR] (npm init @nbdkit-ts/${kind} NAME)\nTry ${cmd} --help.\n`);
    return 1;
  }
  try {
    const done = scaffold({ kind, name: args.name, ...(args.dir === undefined ? {} : { dir: args.dir }), cwd: io.cwd });
    const where = displayPath(done.dir, io.cwd);
    const tryIt = kind === 'filter' ? `npx nbdkit-ts -U - --filter=./dist/index.js memory 1M --run 'nbdinfo "$uri"'` : `npx nbdkit-ts -U - ./dist/index.js 1M --run 'nbdinfo "$uri"'`;
    io.out(
      [
        `Wrote ${done.packageName} in ${where}:`,
        ...done.files.map((f) => `  ${f}`),
        '',
        'Next:',
        ...(where === '.' ? [] : [`  cd ${shellWord(where)}`]),
        '  npm install',
        '  npm run build',
        '  npm test         # needs nbdsh (Debian and Ubuntu: apt install libnbd-bin python3-libnbd)',
        `  ${tryIt}`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (e) {
    io.err(`${cmd}: ${errorMessage(e)}\n`);
    return 1;
  }
}
