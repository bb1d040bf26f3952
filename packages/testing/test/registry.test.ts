// What users get from a registry. A local npm registry (verdaccio, on a loopback port, its
// storage in a temp folder; other packages come through it from the registry npm is set up
// with) gets every package of the release the pending changesets would cut, published with
// `pnpm -r publish` as the release does, and a third-party filter (the invert example, made
// publishable as CONTRIBUTING.md says). Then, in fresh folders with only that registry
// configured, every first-party package is installed with npm, with pnpm and with
// `npm install -g`, and `nbdkit-ts --filter=ext2 file` serves a file of an ext4 image.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOk, tempDir } from '@nbdkit-ts/testing';
import { PNPM, ROOT, userShell, versionCopy, workspaceManifests, type UserShell } from './user-shell.js';

/** A free TCP port on the loopback interface. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `url` answers 200, polling for up to 60 s. */
async function answering(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} does not answer`);
}

/** The file served from inside the image, and its content. */
const FILE = '/disks/data.bin';
const CONTENT = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));

describe('published to a registry, installed from it as users install', () => {
  let dir: string;
  let verdaccio: ChildProcess | undefined;
  let image: string;
  let published: string[];
  let sh: UserShell['sh'];
  let shOk: UserShell['shOk'];
  let npmProject: string;
  let pnpmProject: string;
  let globalPrefix: string;

  /** A fresh folder with these packages installed from the registry by `npm` or `pnpm`. */
  async function project(name: string, manager: 'npm' | 'pnpm', packages: readonly string[]): Promise<string> {
    const p = join(dir, name);
    mkdirSync(p);
    writeFileSync(join(p, 'package.json'), JSON.stringify({ name, private: true }));
    if (manager === 'npm') {
      await shOk('npm', ['install', '--no-audit', '--no-fund', ...packages], { cwd: p });
    } else {
      // koffi (plugin-file) works without its install script, which pnpm runs only when allowed.
      writeFileSync(join(p, 'pnpm-workspace.yaml'), `storeDir: ${join(dir, 'pnpm-store')}\nallowBuilds:\n  koffi: false\n`);
      await shOk(PNPM, ['add', ...packages], { cwd: p });
    }
    return p;
  }

  beforeAll(async () => {
    dir = tempDir('nbdkit-ts-registry-');
    const port = await freePort();
    const registry = `http://127.0.0.1:${port}/`;
    const upstream = (await runOk('npm', ['config', 'get', 'registry'])).stdout.trim();
    writeFileSync(
      join(dir, 'verdaccio.yaml'),
      [
        `storage: ${join(dir, 'storage')}`,
        `auth: { htpasswd: { file: ${join(dir, 'htpasswd')} } }`,
        `uplinks: { upstream: { url: '${upstream}' } }`,
        'packages:',
        "  '@nbdkit-ts/*': { access: $all, publish: $all }",
        "  'nbdkit-ts-*': { access: $all, publish: $all }",
        "  '**': { access: $all, proxy: upstream }",
        'log: { type: stdout, format: pretty, level: error }',
        '',
      ].join('\n'),
    );
    verdaccio = spawn(join(ROOT, 'node_modules', '.bin', 'verdaccio'), ['--config', join(dir, 'verdaccio.yaml'), '--listen', `127.0.0.1:${port}`], { stdio: 'ignore' });
    await answering(`${registry}-/ping`);

    // Only the local registry is configured; publishing takes a token, which it does not check.
    writeFileSync(join(dir, 'npmrc'), `registry=${registry}\n//127.0.0.1:${port}/:_authToken=test\n`);
    ({ sh, shOk } = userShell(dir, { NPM_CONFIG_USERCONFIG: join(dir, 'npmrc') }));

    const release = join(dir, 'release');
    versionCopy(ROOT, release);
    published = workspaceManifests(release).filter((m) => m.private !== true).map((m) => m.name);
    await shOk(PNPM, ['-r', 'publish', '--no-git-checks'], { cwd: release });
    const invert = join(release, 'examples', 'filter-invert');
    const { private: _, devDependencies: __, ...manifest } = JSON.parse(readFileSync(join(invert, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(invert, 'package.json'), JSON.stringify(manifest, null, 2));
    await shOk('npm', ['publish'], { cwd: invert });

    const files = join(dir, 'files');
    mkdirSync(join(files, 'disks'), { recursive: true });
    writeFileSync(join(files, FILE), CONTENT);
    image = join(dir, 'fs.img');
    await runOk('mke2fs', ['-q', '-t', 'ext4', '-d', files, image, '8M']);

    globalPrefix = join(dir, 'global');
    [npmProject, pnpmProject] = await Promise.all([
      project('npm-project', 'npm', [...published, 'nbdkit-ts-filter-invert']),
      project('pnpm-project', 'pnpm', published),
      shOk('npm', ['install', '--global', '--prefix', globalPrefix, '--no-audit', '--no-fund', ...published]),
    ]);
  }, 600_000);

  afterAll(() => {
    verdaccio?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Serves FILE of the image read-only with `nbdkit-ts` run as `cmd args...`, these filters
   * before ext2 and these parameters, and checks what nbdinfo and nbdcopy read.
   */
  async function serveFile(cmd: string, args: readonly string[], cwd: string, filters: readonly string[] = [], params: readonly string[] = [], expected = CONTENT) {
    const out = join(dir, `read-${Math.random().toString(36).slice(2)}`);
    const served = [...filters, '--filter=ext2', 'file', image, `ext2file=${FILE}`, ...params];
    const r = await sh(cmd, [...args, '-r', '-U', '-', ...served, '--run', `nbdinfo --size "$uri" && nbdcopy "$uri" ${out}`], { cwd });
    expect(r.stdout.trim()).toBe(String(expected.length));
    expect(readFileSync(out).equals(expected)).toBe(true);
    expect(r.stderr).toBe('');
  }

  it('npm install, then npx nbdkit-ts --filter=ext2 file ...', async () => {
    await serveFile('npx', ['nbdkit-ts'], npmProject);
  });

  it('a third-party filter from the registry, found by --filter=invert: the file reads inverted', async () => {
    await serveFile('npx', ['nbdkit-ts'], npmProject, ['--filter=invert'], [], Buffer.from(CONTENT.map((b) => b ^ 0xff)));
  });

  it('pnpm add, then nbdkit-ts --filter=ext2 file ... from node_modules/.bin', async () => {
    await serveFile(join(pnpmProject, 'node_modules', '.bin', 'nbdkit-ts'), [], pnpmProject);
  });

  it('npm install -g, then nbdkit-ts --filter=ext2 file ... from anywhere', async () => {
    await serveFile(join(globalPrefix, 'bin', 'nbdkit-ts'), [], dir);
  });
});
