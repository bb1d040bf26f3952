import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childProcess } from '../child-process.js';

/** What kind of layer a name refers to. */
export type LayerKind = 'plugin' | 'filter';

/** A layer module found on disk. */
export interface Resolved {
  /** Absolute path of the module's entry file. */
  readonly file: string;
  /** The package name it was found as, or undefined for a path. */
  readonly packageName: string | undefined;
}

/** The layer could not be found; the message lists every place tried. */
export class LayerNotFound extends Error {
  constructor(
    readonly kind: LayerKind,
    readonly layerName: string,
    readonly tried: readonly string[],
  ) {
    super(
      `${kind} "${layerName}" not found. Looked for:\n` +
        tried.map((t) => `  ${t}`).join('\n') +
        `\nInstall it (npm i ${packageNames(kind, layerName).join(', or the third-party ')}), give a path to its module, or add the folder that holds its node_modules to $NBDKIT_TS_PATH.`,
    );
    this.name = 'LayerNotFound';
  }
}

/** Whether a layer name is a path to a module file rather than a package name. */
export function isPath(name: string): boolean {
  return name.startsWith('.') || name.startsWith('/') || name.endsWith('.js') || name.endsWith('.mjs');
}

/**
 * nbdkit's names for layers that nbdkit-ts ships under another name, tried
 * after the name itself: nbdkit's retry filter is filter-reopen (same
 * parameters: retries, retry-delay, retry-exponential, retry-readonly).
 */
const ALIASES: Readonly<Record<string, string>> = { 'filter-retry': '@nbdkit-ts/filter-reopen' };

/** The package names tried for a layer name, first-party first, then an alias. */
export function packageNames(kind: LayerKind, name: string): string[] {
  const alias = ALIASES[`${kind}-${name}`];
  return [`@nbdkit-ts/${kind}-${name}`, `nbdkit-ts-${kind}-${name}`, ...(alias === undefined ? [] : [alias])];
}

let globalRoot: string | undefined | null = null;

/**
 * npm's global node_modules folder, asked once; undefined when npm is not
 * there.
 */
function npmGlobalRoot(): string | undefined {
  if (globalRoot === null) {
    try {
      const { execFileSync } = childProcess();
      globalRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    } catch {
      globalRoot = undefined;
    }
  }
  return globalRoot;
}

/**
 * The folder of the server's package: this module is dist/loader/resolve.js
 * there, or part of the bundled dist/cli/main.js, two levels down either way.
 */
const SERVER_ROOT = resolvePath(fileURLToPath(new URL('../..', import.meta.url)));

/** A folder resolution starts from, and which place of the search path it is. */
export interface SearchBase {
  readonly dir: string;
  readonly place: '$NBDKIT_TS_PATH' | 'working directory' | 'server install' | 'npm global root';
}

/**
 * The folders resolution starts from, in order: each of $NBDKIT_TS_PATH, the
 * working directory, the server's own install, npm's global root (asked of
 * npm only when the earlier places did not have the layer).
 */
export function* searchPath(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Generator<SearchBase> {
  for (const p of (env.NBDKIT_TS_PATH ?? '').split(':')) if (p !== '') yield { dir: resolvePath(cwd, p), place: '$NBDKIT_TS_PATH' };
  yield { dir: cwd, place: 'working directory' };
  yield { dir: SERVER_ROOT, place: 'server install' };
  const g = npmGlobalRoot();
  if (g !== undefined) yield { dir: g, place: 'npm global root' };
}

/** The folders of {@link searchPath}, in order. */
export function* searchBases(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Generator<string> {
  for (const base of searchPath(env, cwd)) yield base.dir;
}

/**
 * The entry file of package `pkg` as Node.js resolves it from folder `base`,
 * or undefined. Node is asked only when a folder it would look in has the
 * package: a failed resolution costs a thrown error and a search of every
 * folder, and most names tried are not installed where they are tried first.
 */
export function resolveFrom(base: string, pkg: string): string | undefined {
  const require = createRequire(resolvePath(base, '_'));
  if (!(require.resolve.paths(pkg) ?? []).some((dir) => existsSync(resolvePath(dir, pkg)))) return undefined;
  try {
    return require.resolve(pkg);
  } catch {
    return undefined;
  }
}

/** Finds the module of a plugin or filter by path, or by package name in each search base in turn. */
export function resolveLayer(kind: LayerKind, name: string, bases: Iterable<string> = searchBases()): Resolved {
  if (isPath(name)) {
    const file = isAbsolute(name) ? name : resolvePath(process.cwd(), name);
    if (!existsSync(file)) throw new LayerNotFound(kind, name, [file]);
    return { file, packageName: undefined };
  }
  const tried: string[] = [];
  for (const base of bases) {
    for (const pkg of packageNames(kind, name)) {
      tried.push(`${pkg} from ${base}`);
      const file = resolveFrom(base, pkg);
      if (file !== undefined) return { file, packageName: pkg };
    }
  }
  throw new LayerNotFound(kind, name, tried);
}
