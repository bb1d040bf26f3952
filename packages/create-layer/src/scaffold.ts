import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { packageName, validateName, type LayerKind } from './layer.js';
import { readRanges, type Ranges } from './ranges.js';
import { packageFiles } from './templates/index.js';

/** Options of {@link scaffold}. */
export interface ScaffoldOptions {
  /** Filter or plugin. */
  readonly kind: LayerKind;
  /** The layer's short name (checked with {@link validateName}). */
  readonly name: string;
  /** Where to write the package (default `./nbdkit-ts-KIND-NAME`); relative to `cwd`. */
  readonly dir?: string;
  /** The directory relative paths start from (default: the process's). */
  readonly cwd?: string;
  /** The version ranges of the package's dependencies (default: this package's own, {@link readRanges}). */
  readonly ranges?: Ranges;
}

/** What {@link scaffold} wrote. */
export interface Scaffolded {
  /** The package's directory, absolute. */
  readonly dir: string;
  /** The package's name. */
  readonly packageName: string;
  /** The files written, relative to `dir`, with `/`. */
  readonly files: readonly string[];
}

/** `dir` as the user would type it from `cwd`: relative below it (`./x`), absolute elsewhere. */
export function displayPath(dir: string, cwd: string): string {
  const rel = relative(cwd, dir);
  if (rel === '') return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? dir : `./${rel}`;
}

/**
 * Checks that a package can be written into `dir`: it does not exist, or is
 * an empty directory. Throws an error naming it otherwise.
 */
export function checkTarget(dir: string, cwd: string = process.cwd()): void {
  const shown = displayPath(dir, cwd);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!isDirectory) throw new Error(`${shown} exists and is not a directory: give another NAME, or a new directory with --dir`);
  if (readdirSync(dir).length > 0) throw new Error(`${shown} exists and is not empty: give another NAME, or a new or empty directory with --dir`);
}

/**
 * Writes the package of a new layer: package.json, src/index.ts, a
 * conformance test, README.md (its manual), TypeScript and vitest
 * configuration. Refuses a bad name and a directory that is not empty; never
 * overwrites a file.
 */
export function scaffold(options: ScaffoldOptions): Scaffolded {
  const { kind, name } = options;
  validateName(kind, name);
  const cwd = options.cwd ?? process.cwd();
  const pkg = packageName(kind, name);
  const dir = resolve(cwd, options.dir ?? pkg);
  checkTarget(dir, cwd);
  const files = packageFiles({ kind, name, packageName: pkg, ranges: options.ranges ?? readRanges() });
  for (const [path, content] of files) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content, { flag: 'wx' });
  }
  return { dir, packageName: pkg, files: files.map(([path]) => path) };
}
