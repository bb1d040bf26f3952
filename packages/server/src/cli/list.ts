import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, parse } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage } from '@nbdkit-ts/core';
import { checkLayer, packageVersion } from '../loader/load-layer.js';
import { packageNames, resolveFrom, searchPath, type LayerKind, type SearchBase } from '../loader/resolve.js';

/** Where a layer package was found. */
export interface Found {
  readonly packageName: string;
  /** The package's folder. */
  readonly dir: string;
  readonly base: SearchBase;
  /** Whether Node.js found it through $NODE_PATH rather than a node_modules folder of the base. */
  readonly throughNodePath: boolean;
}

/** A layer name the search path knows, and what `--filter=NAME` / `PLUGIN` would load for it. */
export interface ListedLayer {
  readonly kind: LayerKind;
  readonly name: string;
  /** What the resolver loads: the first place of the search path that has the layer. */
  readonly used: Found;
  /** The package's own version. */
  readonly version: string | undefined;
  /** The API version the layer declares, when the server accepts it. */
  readonly apiVersion: number | undefined;
  /** Why the server would refuse it (the API version it was written for, a failed import), or undefined. */
  readonly problem: string | undefined;
  /** Other copies further down the search path, which the resolver never reaches. */
  readonly shadowed: readonly Found[];
}

const SCOPED = /^(plugin|filter)-(.+)$/;
const UNSCOPED = /^nbdkit-ts-(plugin|filter)-(.+)$/;

/** The node_modules folders Node.js looks in from `dir`, nearest first. */
function nodeModulesChain(dir: string): string[] {
  const out: string[] = [];
  const { root } = parse(dir);
  for (let d = dir; ; d = dirname(d)) {
    if (!d.endsWith('/node_modules')) out.push(join(d, 'node_modules'));
    if (d === root) return out;
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Every `kind:name` that some package in reach of `dir` provides. */
function layerNamesNear(dir: string, into: Set<string>): void {
  for (const nm of nodeModulesChain(dir)) {
    for (const entry of entries(nm)) {
      const m = UNSCOPED.exec(entry);
      if (m !== null) into.add(`${m[1]}:${m[2]}`);
    }
    for (const entry of entries(join(nm, '@nbdkit-ts'))) {
      const m = SCOPED.exec(entry);
      if (m !== null) into.add(`${m[1]}:${m[2]}`);
    }
  }
}

/** The folder of package `name` that holds `file`. */
function packageDir(file: string, name: string): string {
  for (let d = dirname(file); d !== dirname(d); d = dirname(d)) {
    try {
      const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === name) return d;
    } catch {
      // no package.json here; go up
    }
  }
  return dirname(file);
}

function realpathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** Every copy of the layer along the search path, in the order the resolver tries them. */
function copies(kind: LayerKind, name: string, bases: readonly SearchBase[]): { found: Found; file: string }[] {
  const out: { found: Found; file: string }[] = [];
  const seen = new Set<string>();
  for (const base of bases) {
    for (const packageName of packageNames(kind, name)) {
      const file = resolveFrom(base.dir, packageName);
      if (file === undefined) continue;
      const dir = packageDir(file, packageName);
      const real = realpathSync(dir);
      if (seen.has(real)) continue;
      seen.add(real);
      const inChain = nodeModulesChain(base.dir).some((nm) => realpathOrUndefined(join(nm, packageName)) === real);
      out.push({ found: { packageName, dir, base, throughNodePath: !inChain }, file });
    }
  }
  return out;
}

/**
 * The plugins and filters found along the search path (`$NBDKIT_TS_PATH`,
 * the working directory, the server's install, npm's global root), each
 * loaded as the server would load it to tell its API version or why it would
 * be refused.
 */
export async function listLayers(bases: readonly SearchBase[] = [...searchPath()]): Promise<ListedLayer[]> {
  const names = new Set<string>();
  for (const base of bases) layerNamesNear(base.dir, names);
  const out: ListedLayer[] = [];
  for (const key of [...names].sort()) {
    const [kind, name] = key.split(/:(.*)/s) as [LayerKind, string];
    const [first, ...rest] = copies(kind, name, bases);
    if (first === undefined) continue;
    let apiVersion: number | undefined;
    let problem: string | undefined;
    try {
      const mod = (await import(pathToFileURL(first.file).href)) as { default?: unknown };
      apiVersion = checkLayer(kind, mod.default, first.file).apiVersion;
    } catch (e) {
      problem = errorMessage(e).split('\n')[0];
    }
    out.push({ kind, name, used: first.found, version: packageVersion(first.file), apiVersion, problem, shadowed: rest.map((c) => c.found) });
  }
  return out;
}

/** A found package's folder and the place of the search path it came from. */
function where(f: Found): string {
  return `${f.dir} (${f.base.place}${f.throughNodePath ? ', through $NODE_PATH' : ''})`;
}

/** What `nbdkit-ts --list` prints. */
export function formatList(layers: readonly ListedLayer[], bases: readonly SearchBase[]): string {
  const lines: string[] = [];
  for (const kind of ['plugin', 'filter'] as const) {
    const mine = layers.filter((l) => l.kind === kind);
    lines.push(`${kind === 'plugin' ? 'Plugins' : 'Filters'}:`);
    if (mine.length === 0) lines.push('  (none found)');
    const rows = mine.map((l) => [l.name, l.version ?? '?', `api ${l.apiVersion ?? '-'}`, l.used.packageName]);
    const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)));
    mine.forEach((l, i) => {
      const cells = (rows[i] as string[]).map((c, j) => c.padEnd(widths[j] as number));
      lines.push(`  ${cells.join('  ')}  ${where(l.used)}`);
      if (l.problem !== undefined) lines.push(`      incompatible: ${l.problem}`);
      for (const s of l.shadowed) lines.push(`      not used: ${s.packageName} in ${where(s)}, found later in the search path`);
    });
  }
  lines.push('Search path, in order:');
  for (const b of bases) lines.push(`  ${b.dir} (${b.place})`);
  if (!bases.some((b) => b.place === '$NBDKIT_TS_PATH')) lines.push('  ($NBDKIT_TS_PATH is not set: colon-separated folders to search first)');
  return lines.join('\n');
}

/** Runs `nbdkit-ts --list`; the status is 0 even when some layers are incompatible. */
export async function printList(): Promise<number> {
  const bases = [...searchPath()];
  console.log(formatList(await listLayers(bases), bases));
  return 0;
}
