#!/usr/bin/env node
// Checks that every published package changed since BASE carries a changeset.
//
//   node scripts/check-changesets.mjs [BASE]
//
// BASE is a git revision: the argument, else $CHANGESET_BASE, else the merge
// base of HEAD with origin/main when that is not HEAD itself, else HEAD~1.
// A package counts as changed when a file it ships from changed: anything under
// src/ or native/, binding.gyp, or package.json beyond its devDependencies and
// scripts. Tests and READMEs alone need no release. Private packages (examples,
// the monorepo root) are never released. A changeset is a .changeset/*.md file
// added or changed since BASE whose front matter names the package; a package
// whose version changed since BASE (the release commit) is covered too.
// Exits 1, naming each package and its changed files, when one is not covered.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const git = (...args) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const tryGit = (...args) => {
  try {
    return git(...args);
  } catch {
    return undefined;
  }
};

const root = git('rev-parse', '--show-toplevel');
process.chdir(root);

function chooseBase() {
  const given = process.argv[2] ?? process.env.CHANGESET_BASE;
  if (given !== undefined && given !== '') return given;
  const head = git('rev-parse', 'HEAD');
  const mergeBase = tryGit('merge-base', 'HEAD', 'origin/main');
  if (mergeBase !== undefined && mergeBase !== head) return mergeBase;
  return tryGit('rev-parse', '--verify', '--quiet', 'HEAD~1');
}

const base = chooseBase();
if (base === undefined) {
  console.log('check-changesets: no earlier commit to compare with; nothing to check');
  process.exit(0);
}

/** The workspace's packages: folder, manifest. */
const packages = [];
for (const group of ['packages', 'examples']) {
  if (!existsSync(group)) continue;
  for (const name of readdirSync(group)) {
    const file = join(group, name, 'package.json');
    if (existsSync(file)) packages.push({ dir: `${group}/${name}`, manifest: JSON.parse(readFileSync(file, 'utf8')) });
  }
}

const changed = git('diff', '--name-only', `${base}`, 'HEAD').split('\n').filter(Boolean);

/** package.json without what does not reach users. */
function shipped(text) {
  if (text === undefined) return undefined;
  const { devDependencies: _dev, scripts: _scripts, ...rest } = JSON.parse(text);
  return JSON.stringify(rest);
}

function shipsChange(dir, file) {
  const rel = file.slice(dir.length + 1);
  if (/^(src|native)\//.test(rel) || rel === 'binding.gyp') return true;
  if (rel !== 'package.json') return false;
  return shipped(tryGit('show', `${base}:${file}`)) !== shipped(readFileSync(file, 'utf8'));
}

/** Package names the changesets added or changed since BASE name. */
const covered = new Set();
for (const file of changed.filter((f) => /^\.changeset\/[^/]+\.md$/.test(f) && !f.endsWith('README.md'))) {
  if (!existsSync(file)) continue;
  const front = /^---\n([\s\S]*?)\n---/.exec(readFileSync(file, 'utf8'))?.[1] ?? '';
  for (const m of front.matchAll(/^\s*["']?([^"':\s]+)["']?\s*:\s*(major|minor|patch)\s*$/gm)) covered.add(m[1]);
}

const missing = [];
for (const { dir, manifest } of packages) {
  if (manifest.private === true) continue;
  const files = changed.filter((f) => f.startsWith(`${dir}/`) && shipsChange(dir, f));
  if (files.length === 0 || covered.has(manifest.name)) continue;
  const before = tryGit('show', `${base}:${dir}/package.json`);
  if (before !== undefined && JSON.parse(before).version !== manifest.version) continue;
  missing.push({ name: manifest.name, files });
}

const range = `${base.slice(0, 12)}..HEAD`;
if (missing.length === 0) {
  console.log(`check-changesets: every published package changed in ${range} has a changeset`);
  process.exit(0);
}
console.error(`check-changesets: published packages changed in ${range} without a changeset:`);
for (const { name, files } of missing) {
  console.error(`  ${name}:`);
  for (const f of files.slice(0, 10)) console.error(`    ${f}`);
  if (files.length > 10) console.error(`    ... and ${files.length - 10} more`);
}
console.error('Add one with `pnpm changeset` (see CONTRIBUTING.md), or name the packages in an existing changeset of this change.');
process.exit(1);
