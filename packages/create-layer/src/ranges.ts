import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The packages a generated package depends on. Their ranges are this
 * package's own dev dependencies: it is built and tested with them, and a
 * release of it carries the ranges of its time.
 */
export const DEPENDENCIES = ['@nbdkit-ts/core', '@nbdkit-ts/plugin-memory', '@nbdkit-ts/server', '@nbdkit-ts/testing', '@types/node', 'typescript', 'vitest'] as const;

/** A package a generated package depends on. */
export type Dependency = (typeof DEPENDENCIES)[number];

/** The version ranges a generated package gets. */
export interface Ranges {
  /** `engines.node`. */
  readonly node: string;
  /** The range of each dependency. */
  readonly versions: Readonly<Record<Dependency, string>>;
}

interface Manifest {
  readonly version?: string;
  readonly engines?: { readonly node?: string };
  readonly devDependencies?: Readonly<Record<string, string>>;
}

const readManifest = (file: string): Manifest => JSON.parse(readFileSync(file, 'utf8')) as Manifest;

/**
 * A range as published. A `workspace:` range (in the source tree, before
 * publishing) becomes what publishing makes of it: `workspace:^` the linked
 * package's version with a caret, `workspace:~` with a tilde, `workspace:*`
 * the version itself, anything else after `workspace:` as it is.
 */
function published(dep: string, range: string, root: string): string {
  if (!range.startsWith('workspace:')) return range;
  const spec = range.slice('workspace:'.length);
  if (!['^', '~', '*'].includes(spec)) return spec;
  const { version } = readManifest(join(root, 'node_modules', dep, 'package.json'));
  if (version === undefined) throw new Error(`${dep}: no version in its package.json`);
  return spec === '*' ? version : `${spec}${version}`;
}

/**
 * The ranges a generated package gets, from a package.json (by default this
 * package's own: its `engines.node` and its dev dependencies).
 */
export function readRanges(manifestFile: string = fileURLToPath(new URL('../package.json', import.meta.url))): Ranges {
  const manifest = readManifest(manifestFile);
  const root = dirname(manifestFile);
  const dev = manifest.devDependencies ?? {};
  const node = manifest.engines?.node;
  if (node === undefined) throw new Error(`${manifestFile}: no engines.node`);
  const versions = Object.fromEntries(
    DEPENDENCIES.map((dep) => {
      const range = dev[dep];
      if (range === undefined) throw new Error(`${manifestFile}: no devDependencies entry for ${dep}`);
      return [dep, published(dep, range, root)];
    }),
  ) as Record<Dependency, string>;
  return { node, versions };
}
