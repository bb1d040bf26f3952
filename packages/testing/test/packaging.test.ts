// What users get from npm: the release the pending changesets would cut (`changeset version`
// applied to a scratch copy of the repository), every package packed with `pnpm -r pack`,
// checked for what its tarball holds, then all installed together from the tarballs the ways
// users install them (npm and pnpm, in a project and globally) and run as
// `nbdkit-ts --filter=NAME ...` from inside and outside those projects, with first-party and
// third-party (example) layers.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOk, tempDir } from '@nbdkit-ts/testing';
import { PNPM, ROOT, userShell, versionCopy, workspaceManifests, type UserShell } from './user-shell.js';

interface Manifest {
  name: string;
  version: string;
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** The names of the workspace's packages. */
const workspacePackages = () => workspaceManifests(ROOT).map((m) => m.name);

/** Every file a manifest points at: main, types, bin and the exports' targets. */
function entryPoints(pkg: Manifest): string[] {
  const targets = [pkg.main, pkg.types, ...Object.values(pkg.bin ?? {})];
  for (const target of Object.values(pkg.exports ?? {})) targets.push(...(typeof target === 'string' ? [target] : Object.values(target)));
  return targets.filter((t): t is string => t !== undefined).map((t) => t.replace(/^\.\//, ''));
}

/** The tarballs of the release, by package name, and each one's file list and manifest. */
const tarballs = new Map<string, { file: string; entries: string[]; manifest: Manifest }>();
let packed: string;

/** The tarball of a package of the release. */
function tgz(name: string): string {
  const t = tarballs.get(name);
  if (t === undefined) throw new Error(`no tarball of ${name}`);
  return t.file;
}

beforeAll(async () => {
  packed = tempDir('nbdkit-ts-pack-');
  versionCopy(ROOT, join(packed, 'release'));
  await runOk(PNPM, ['-r', 'pack', '--pack-destination', join(packed, 'tarballs')], { cwd: join(packed, 'release') });
  for (const file of readdirSync(join(packed, 'tarballs'))) {
    const path = join(packed, 'tarballs', file);
    const { stdout } = await runOk('tar', ['tzf', path]);
    const manifest = JSON.parse((await runOk('tar', ['xzOf', path, 'package/package.json'])).stdout) as Manifest;
    tarballs.set(manifest.name, { file: path, entries: stdout.trim().split('\n'), manifest });
  }
}, 120_000);

afterAll(() => rmSync(packed, { recursive: true, force: true }));

/** A package's version in the release, as a regular expression. */
const version = (name: string) => (tarballs.get(name)?.manifest.version ?? '?').replaceAll('.', '\\.');

describe('pnpm -r pack', () => {
  it('packs every package of the workspace', () => {
    expect([...tarballs.keys()].sort()).toEqual(workspacePackages().sort());
  });

  it.each(workspacePackages())('%s holds only dist, README.md and package.json, with every entry point', (name) => {
    const t = tarballs.get(name);
    expect(t).toBeDefined();
    const entries = (t?.entries ?? []).map((e) => e.replace(/^package\//, ''));
    expect(entries.filter((e) => !/^(package\.json|README\.md|dist\/.+)$/.test(e))).toEqual([]);
    expect(entries).toContain('README.md');
    expect(entries).toContain('package.json');
    const manifest = t?.manifest as Manifest;
    for (const entry of entryPoints(manifest)) expect(entries, `${name}: ${entry}`).toContain(entry);
    const specs = { ...manifest.dependencies, ...manifest.peerDependencies };
    expect(Object.entries(specs).filter(([, spec]) => spec.startsWith('workspace:'))).toEqual([]);
  });
});

describe('installed from the tarballs, as users install them', () => {
  let dir: string;
  let elsewhere: string;
  const parts: string[] = [];
  let sh: UserShell['sh'];
  let shOk: UserShell['shOk'];

  /** A project folder with these packages as dependencies, installed by `npm` or `pnpm`. */
  async function project(name: string, manager: 'npm' | 'pnpm', packages: readonly string[]): Promise<string> {
    const p = join(dir, name);
    mkdirSync(p);
    const dependencies = Object.fromEntries(packages.map((n) => [n, `file:${tgz(n)}`]));
    writeFileSync(join(p, 'package.json'), JSON.stringify({ name, private: true, dependencies }));
    if (manager === 'npm') {
      await shOk('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: p });
    } else {
      // pnpm looks the first-party packages that others depend on (peer or regular) up in the
      // registry: point each at its tarball. It refuses to install koffi (plugin-file) until its
      // install script is allowed or denied; koffi works without it (plugin-file's README says so).
      const overrides = [...tarballs.keys()].map((n) => `  "${n}": "file:${tgz(n)}"\n`).join('');
      writeFileSync(join(p, 'pnpm-workspace.yaml'), `overrides:\n${overrides}allowBuilds:\n  koffi: false\n`);
      await shOk(PNPM, ['install', '--prefer-offline', '--store-dir', join(dir, 'pnpm-store')], { cwd: p });
    }
    return p;
  }

  /**
   * Serves the two parts (third-party plugin split) through invert (third-party), offset and
   * error (first-party) with the given command, and prints the export's first 200 bytes in hex.
   */
  const serve = (nbdkitTs: string, cwd: string, extraEnv: NodeJS.ProcessEnv = {}) =>
    sh(nbdkitTs, ['-U', '-', '--filter=invert', '--filter=offset', '--filter=error', 'split', ...parts, 'offset=4000', '--run', `nbdsh -u "$uri" -c 'print(h.pread(200, 0).hex())'`], {
      cwd,
      env: extraEnv,
    });
  /** From byte 4000 of the parts: 96 bytes of part a and 104 of part b, inverted ('a' 0x61 reads as 0x9e, 'b' 0x62 as 0x9d). */
  const EXPECTED = '9e'.repeat(96) + '9d'.repeat(104);

  let npmProject: string;
  let pnpmProject: string;
  let serverOnly: string;
  let globalPrefix: string;

  beforeAll(async () => {
    dir = tempDir('nbdkit-ts-install-');
    elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    ({ sh, shOk } = userShell(dir));
    for (const [name, fill] of [['part-a', 'a'], ['part-b', 'b']] as const) {
      parts.push(join(dir, name));
      writeFileSync(join(dir, name), Buffer.alloc(4096, fill));
    }
    const all = [...tarballs.keys()];
    globalPrefix = join(dir, 'global');
    [npmProject, pnpmProject, serverOnly] = await Promise.all([
      project('npm-project', 'npm', all),
      project('pnpm-project', 'pnpm', all),
      project('server-only', 'npm', ['@nbdkit-ts/core', '@nbdkit-ts/server']),
      shOk('npm', ['install', '--global', '--prefix', globalPrefix, '--prefer-offline', '--no-audit', '--no-fund', ...all.map(tgz)]),
    ]);
  }, 300_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const bin = (prefix: string) => join(prefix, 'node_modules', '.bin', 'nbdkit-ts');

  it('every layer of the release is found and accepted: in the npm project, the pnpm project and the global install', async () => {
    const layers = [...tarballs.keys()].flatMap((pkg) => {
      const m = /^(?:@nbdkit-ts\/|nbdkit-ts-)(?:plugin|filter)-(.+)$/.exec(pkg);
      return m === null ? [] : [{ name: m[1] as string, pkg }];
    });
    expect(layers.length).toBeGreaterThan(5);
    for (const [nbdkitTs, cwd] of [[bin(npmProject), npmProject], [bin(pnpmProject), pnpmProject], [join(globalPrefix, 'bin', 'nbdkit-ts'), elsewhere]] as const) {
      const list = await shOk(nbdkitTs, ['--list'], { cwd });
      expect(list.stdout).not.toContain('incompatible');
      for (const { name, pkg } of layers) expect(list.stdout).toMatch(new RegExp(`^ {2}${name} +${version(pkg)} +api 1 +${pkg} `, 'm'));
    }
  });

  it('npm project: from inside it', async () => {
    const r = await serve(bin(npmProject), npmProject);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(EXPECTED);
  });

  it('npm project: from outside it, the layers are found beside the server', async () => {
    const r = await serve(bin(npmProject), elsewhere);
    expect(r.stdout.trim()).toBe(EXPECTED);
    const list = await shOk(bin(npmProject), ['--list'], { cwd: elsewhere });
    for (const [name, pkg] of [['error', '@nbdkit-ts/filter-error'], ['offset', '@nbdkit-ts/filter-offset'], ['invert', 'nbdkit-ts-filter-invert'], ['split', 'nbdkit-ts-plugin-split']] as const) {
      expect(list.stdout).toMatch(new RegExp(`^ {2}${name} +${version(pkg)} +api 1 +${pkg} +${npmProject}/node_modules/${pkg} \\(server install\\)$`, 'm'));
    }
  });

  it('npm global install (npm i -g --prefix): from anywhere', async () => {
    const r = await serve(join(globalPrefix, 'bin', 'nbdkit-ts'), elsewhere);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(EXPECTED);
  });

  it("layers installed globally, the server in a project: found in npm's global root", async () => {
    const npmGlobal = { npm_config_prefix: globalPrefix };
    const r = await serve(bin(serverOnly), elsewhere, npmGlobal);
    expect(r.stdout.trim()).toBe(EXPECTED);
    const list = await shOk(bin(serverOnly), ['--list'], { cwd: elsewhere, env: npmGlobal });
    expect(list.stdout).toMatch(new RegExp(`^ {2}invert +${version('nbdkit-ts-filter-invert')} +api 1 +nbdkit-ts-filter-invert +${globalPrefix}/lib/node_modules/nbdkit-ts-filter-invert \\(npm global root\\)$`, 'm'));
  });

  it('pnpm project: from inside it', async () => {
    const r = await serve(bin(pnpmProject), pnpmProject);
    expect(r.stdout.trim()).toBe(EXPECTED);
  });

  it("pnpm project, another server outside it: not found, the message points to $NBDKIT_TS_PATH, which finds them", async () => {
    const missing = await serve(bin(serverOnly), elsewhere);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^nbdkit-ts: filter "(invert|offset|error)" not found\. Looked for:$/m);
    expect(missing.stderr).toContain(`from ${elsewhere}`);
    expect(missing.stderr).toContain('add the folder that holds its node_modules to $NBDKIT_TS_PATH');
    const found = await serve(bin(serverOnly), elsewhere, { NBDKIT_TS_PATH: pnpmProject });
    expect(found.stdout.trim()).toBe(EXPECTED);
    const list = await shOk(bin(serverOnly), ['--list'], { cwd: elsewhere, env: { NBDKIT_TS_PATH: pnpmProject } });
    expect(list.stdout).toMatch(new RegExp(`^ {2}split +${version('nbdkit-ts-plugin-split')} +api 1 +nbdkit-ts-plugin-split +\\S+ \\(\\$NBDKIT_TS_PATH\\)$`, 'm'));
  });
});
