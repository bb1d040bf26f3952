// A generated filter and a generated plugin, used as their authors use them: npm install, npm run
// build, their own tests (npx vitest run), then served by the nbdkit-ts they installed, by path
// and by package name. Everything comes from the release the pending changesets would cut (a
// scratch copy of the repository after `changeset version`, as the packaging test makes): the
// packages are written by that release's create-filter and create-plugin commands, so their
// ranges are the release's (^1.0.0, not the workspace's 1.0.0-0), and the first-party packages
// they depend on (core, testing, server, plugin-memory) are packed from it with pnpm, as a
// release packs them, and installed from those tarballs through file: ranges. typescript,
// vitest and @types/node come from the registry npm is set up with. Publishing everything to a
// local registry first, as the registry test does, would take minutes for the same contents.
import { mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, runOk, tempDir, type RunOptions } from '@nbdkit-ts/testing';
import type { LayerKind } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** The repository's own pnpm (a dev dependency of the root). */
const PNPM = join(ROOT, 'node_modules', '.bin', 'pnpm');
/** From scripts/check-release.mjs: copies the repository into a folder and applies `changeset version` there. */
const { versionCopy } = (await import(join(ROOT, 'scripts', 'check-release.mjs'))) as { versionCopy: (root: string, dir: string) => string };
const FIRST_PARTY = ['core', 'testing', 'server', 'plugin-memory'];

/**
 * Runs a command as an author would in their package: the test's environment without the test
 * runner's and package managers' settings (an inner vitest must not take itself for a worker).
 */
function user(cmd: string, args: readonly string[], options: RunOptions = {}) {
  const keep = (k: string) => !/^(PATH$|npm_|NPM_|pnpm_|PNPM_|NODE_PATH$|NODE_OPTIONS$|VITEST|TINYPOOL|INIT_CWD$|NBDKIT_TS_)/.test(k);
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => keep(k))), npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  return run(cmd, args, { ...options, inheritEnv: false, env: { ...env, ...options.env } });
}

/** As `user`, and throws with the output unless the command exits 0. */
async function userOk(cmd: string, args: readonly string[], options: RunOptions = {}) {
  const r = await user(cmd, args, options);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

let dir: string;
/** A first-party package's version in the release. */
const releaseVersion = (name: string) => (JSON.parse(readFileSync(join(dir, 'release', 'packages', name, 'package.json'), 'utf8')) as { version: string }).version;
const packages: Record<LayerKind, string> = { filter: '', plugin: '' };

beforeAll(async () => {
  dir = tempDir('nbdkit-ts-create-e2e-');
  const release = join(dir, 'release');
  versionCopy(ROOT, release);
  const tarballs: Record<string, string> = {};
  await Promise.all(
    FIRST_PARTY.map(async (name) => {
      const dest = join(dir, 'tarballs', name);
      await runOk(PNPM, ['pack', '--pack-destination', dest], { cwd: join(release, 'packages', name) });
      tarballs[`@nbdkit-ts/${name}`] = join(dest, readdirSync(dest)[0] as string);
    }),
  );
  const names: Record<LayerKind, string> = { filter: 'pass', plugin: 'ram' };
  await Promise.all(
    (['filter', 'plugin'] as const).map(async (kind) => {
      // What npm init @nbdkit-ts/KIND NAME runs.
      const made = await userOk(process.execPath, [join(release, 'packages', `create-${kind}`, 'dist', 'bin.js'), names[kind]], { cwd: dir });
      const p = join(dir, `nbdkit-ts-${kind}-${names[kind]}`);
      expect(made.stdout).toContain(`Wrote nbdkit-ts-${kind}-${names[kind]} in ./nbdkit-ts-${kind}-${names[kind]}:\n`);
      packages[kind] = p;
      // The first-party packages of this repository instead of the registry's.
      const manifest = JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string>; devDependencies: Record<string, string> };
      expect(manifest.peerDependencies).toEqual({ '@nbdkit-ts/core': `^${releaseVersion('core')}` });
      for (const name of FIRST_PARTY.filter((n) => kind === 'filter' || n !== 'plugin-memory')) {
        expect(manifest.devDependencies[`@nbdkit-ts/${name}`]).toBe(`^${releaseVersion(name)}`);
      }
      for (const dep of Object.keys(manifest.devDependencies)) {
        const tarball = tarballs[dep];
        if (tarball !== undefined) manifest.devDependencies[dep] = `file:${tarball}`;
      }
      writeFileSync(join(p, 'package.json'), JSON.stringify(manifest, null, 2));
      await userOk('npm', ['install', '--prefer-offline'], { cwd: p, timeout: 240_000 });
    }),
  );
}, 300_000);

afterAll(() => {
  // Undefined when beforeAll failed before making it.
  if ((dir as string | undefined) !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** The nbdkit-ts command the package installed. */
const nbdkitTs = (kind: LayerKind) => join(packages[kind], 'node_modules', '.bin', 'nbdkit-ts');

/**
 * A folder whose node_modules holds the package under its name, as an install would: the
 * server finds layers in the working directory's node_modules.
 */
function installedBeside(kind: LayerKind, name: string): string {
  const where = join(dir, `uses-${kind}`);
  mkdirSync(join(where, 'node_modules'), { recursive: true });
  symlinkSync(packages[kind], join(where, 'node_modules', `nbdkit-ts-${kind}-${name}`));
  return where;
}

describe.each(['filter', 'plugin'] as const)('a generated %s', (kind) => {
  it('builds and type-checks', async () => {
    await userOk('npm', ['run', 'build'], { cwd: packages[kind] });
    expect(readdirSync(join(packages[kind], 'dist')).sort()).toEqual(['index.d.ts', 'index.js', 'index.js.map']);
    await userOk('npm', ['run', 'typecheck'], { cwd: packages[kind] });
  }, 120_000);

  it('passes its own tests: the conformance suite, against the real server', async () => {
    const r = await userOk('npx', ['vitest', 'run'], { cwd: packages[kind], timeout: 240_000, env: { NO_COLOR: '1' } });
    const out = r.stdout;
    expect(out).toMatch(/Test Files +1 passed \(1\)/);
    expect(out).toMatch(/Tests +(\d+) passed \(\1\)/);
    expect(out).toContain('test/conformance.test.ts');
  }, 300_000);
});

describe('served by the nbdkit-ts the package installed', () => {
  it('the filter, by path, on the memory plugin', async () => {
    const r = await user(nbdkitTs('filter'), ['-U', '-', '--filter=./dist/index.js', 'memory', '1M', '--run', 'nbdinfo --size "$uri"'], { cwd: packages.filter });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('1048576');
    expect(r.status).toBe(0);
  });

  it('the filter, by name, with its parameter', async () => {
    const cwd = installedBeside('filter', 'pass');
    const r = await user(nbdkitTs('filter'), ['-U', '-', '--filter=pass', 'memory', '2M', 'pass-log=true', '--run', `nbdsh -u "$uri" -c 'h.pwrite(b"abc", 4096); print(h.get_size(), h.pread(3, 4096).decode())'`], { cwd });
    expect(r.stdout.trim()).toBe('2097152 abc');
    expect(r.stderr).toMatch(/^nbdkit-ts: pass\[\d+\]: connection opened: export ""$/m);
    expect(r.status).toBe(0);
    const bad = await user(nbdkitTs('filter'), ['-U', '-', '--filter=pass', 'memory', '1M', 'pass-log=maybe', '--run', 'true'], { cwd });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('pass-log=maybe: expected a boolean (yes/no, true/false, on/off, 1/0)');
  });

  it('the plugin, by path', async () => {
    const r = await user(nbdkitTs('plugin'), ['-U', '-', './dist/index.js', 'size=1M', '--run', 'nbdinfo --size "$uri"'], { cwd: packages.plugin });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('1048576');
    expect(r.status).toBe(0);
  });

  it('the plugin, by name, with the size as the bare word', async () => {
    const cwd = installedBeside('plugin', 'ram');
    const r = await user(nbdkitTs('plugin'), ['-U', '-', 'ram', '3M', '--run', `nbdsh -u "$uri" -c 'h.pwrite(b"xyz", 1 << 20); print(h.get_size(), h.pread(3, 1 << 20).decode(), h.can_multi_conn())'`], { cwd });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('3145728 xyz True');
    const list = await userOk(nbdkitTs('plugin'), ['--list'], { cwd });
    expect(list.stdout).toMatch(/^ {2}ram +1\.0\.0 +api 1 +nbdkit-ts-plugin-ram /m);
    const missing = await user(nbdkitTs('plugin'), ['-U', '-', 'ram', '--run', 'true'], { cwd });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no size given: nbdkit-ts ram SIZE');
  });
});
