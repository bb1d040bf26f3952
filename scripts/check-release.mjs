#!/usr/bin/env node
// Checks the release the pending changesets would cut: applies `changeset version`
// to a scratch copy of the repository and fails on any warning it prints, on a
// published package left at a prerelease version (1.0.0-0 without a changeset), or on
// a range on a first-party package (peer or regular dependency, of the
// packages, the examples and the guides' package.json snippets) that the
// version released of that package does not satisfy.
//
//   node scripts/check-release.mjs [ROOT]
//
// ROOT defaults to this repository. Prints the versions the release would
// publish. The packaging test packs such a copy to install what a release
// would publish.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import semver from 'semver';

const TOOLS = fileURLToPath(new URL('../node_modules', import.meta.url));

/**
 * Copies the repository at `root` into the empty folder `dir` (with the built
 * dist/ folders and the packages' node_modules links; without .git, .turbo and
 * the root's node_modules, which is linked instead) and runs `changeset
 * version` there. Returns what it printed, on both streams.
 */
export function versionCopy(root, dir) {
  const skipped = (src) => ['.git', '.turbo'].includes(basename(src)) || src === join(root, 'node_modules');
  cpSync(root, dir, { recursive: true, verbatimSymlinks: true, filter: (src) => !skipped(src) });
  symlinkSync(TOOLS, join(dir, 'node_modules'));
  const r = spawnSync(join(TOOLS, '.bin', 'changeset'), ['version'], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const output = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`changeset version failed:\n${output}`);
  return output;
}

/** The manifests of the workspace packages under `root` (packages/* and examples/*). */
export function workspaceManifests(root) {
  const out = [];
  for (const group of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, group))) {
      const file = join(root, group, name, 'package.json');
      if (existsSync(file)) out.push(JSON.parse(readFileSync(file, 'utf8')));
    }
  }
  return out;
}

/** The `peerDependencies` of the package.json snippets in the guides (docs/*.md), as the manifests of third-party layers. */
export function guideManifests(root) {
  const out = [];
  for (const file of readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md'))) {
    for (const m of readFileSync(join(root, 'docs', file), 'utf8').matchAll(/"peerDependencies": (\{[^}]*\})/g)) {
      out.push({ name: `docs/${file}`, peerDependencies: JSON.parse(m[1]) });
    }
  }
  return out;
}

/** Every range of `dependents` on a package of `released` that the released version does not satisfy. */
export function unsatisfiedRanges(released, dependents) {
  const versions = new Map(released.map((m) => [m.name, m.version]));
  const out = [];
  for (const m of dependents) {
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const [dep, range] of Object.entries(m[field] ?? {})) {
        const version = versions.get(dep);
        if (version === undefined || range.startsWith('workspace:')) continue;
        if (!semver.satisfies(version, range)) out.push(`${m.name}: ${field} "${dep}": "${range}" does not include the released ${dep} ${version}`);
      }
    }
  }
  return out;
}

function main(root) {
  const dir = mkdtempSync(join(tmpdir(), 'nbdkit-ts-release-'));
  try {
    const output = versionCopy(root, dir);
    // It prints one line when all is well; anything else is a warning.
    const warnings = output.split('\n').filter((line) => line.trim() !== '' && !line.includes('All files have been updated'));
    const manifests = workspaceManifests(dir);
    const published = manifests.filter((m) => m.private !== true);
    for (const m of published) console.log(`${m.name} ${m.version}`);
    const prereleases = published.filter((m) => semver.prerelease(m.version) !== null).map((m) => `${m.name} would be published as ${m.version}: its first release needs a changeset`);
    const problems = [...warnings, ...prereleases, ...unsatisfiedRanges(manifests, [...manifests, ...guideManifests(dir)])];
    if (problems.length === 0) return 0;
    console.error(`changeset version would cut a broken release:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    return 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = main(process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url)));
}
