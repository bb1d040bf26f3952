// The generator without installing anything: names, the target directory, the command line,
// and what the generated files hold.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '@nbdkit-ts/testing';
import { DEPENDENCIES, main, readRanges, scaffold, validateName, type Dependency, type LayerKind, type Ranges } from '../src/index.js';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const SECTIONS = ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'PARAMETERS', 'EXAMPLES', 'ERRORS', 'SEE ALSO'];
const KINDS: LayerKind[] = ['filter', 'plugin'];

/** Runs the command in `cwd` and collects what it printed. */
function cli(kind: LayerKind, argv: string[], cwd: string) {
  let out = '';
  let err = '';
  const status = main(kind, argv, { out: (t) => (out += t), err: (t) => (err += t), cwd });
  return { status, out, err };
}

/** Every file under `dir`, relative, sorted. */
const listing = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile()).sort();

let cwd: string;
beforeEach(() => {
  cwd = tempDir('nbdkit-ts-create-');
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

describe('NAME', () => {
  it.each(['a', 'invert', 'my-filter', 'x2', 'ab1-c2-d3'])('accepts %j', (name) => {
    for (const kind of KINDS) expect(() => validateName(kind, name)).not.toThrow();
  });

  it.each([
    ['Invert', /^NAME "Invert": use lowercase letters, digits and single dashes, starting with a letter/],
    ['my_filter', /^NAME "my_filter": use lowercase letters/],
    ['my filter', /^NAME "my filter": use lowercase letters/],
    ['-a', /^NAME "-a": use lowercase letters/],
    ['a-', /^NAME "a-": .*not ending with a dash/],
    ['a--b', /^NAME "a--b": use lowercase letters, digits and single dashes/],
    ['1st', /^NAME "1st": .*starting with a letter/],
    ['né', /^NAME "né": use lowercase letters/],
    ['', /^NAME is empty: give the filter's name/],
    ['nbdkit-ts-filter-invert', /^NAME "nbdkit-ts-filter-invert": give the filter's short name \("invert"\)/],
    ['a'.repeat(200), /^NAME "a+": too long for an npm package name \(217 characters/],
  ])('refuses %j with a message naming it', (name, message) => {
    expect(() => validateName('filter', name)).toThrow(message);
  });

  it('is refused by the command before anything is written', () => {
    const r = cli('plugin', ['My-Disk'], cwd);
    expect(r.status).toBe(1);
    expect(r.err).toBe('create-plugin: NAME "My-Disk": use lowercase letters, digits and single dashes, starting with a letter and not ending with a dash (such as "my-disk")\n');
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe('the target directory', () => {
  it('an existing directory that is not empty is refused, and left as it was', () => {
    mkdirSync(join(cwd, 'nbdkit-ts-filter-invert'));
    writeFileSync(join(cwd, 'nbdkit-ts-filter-invert', 'notes.txt'), 'mine');
    const r = cli('filter', ['invert'], cwd);
    expect(r.status).toBe(1);
    expect(r.err).toBe('create-filter: ./nbdkit-ts-filter-invert exists and is not empty: give another NAME, or a new or empty directory with --dir\n');
    expect(listing(cwd)).toEqual(['nbdkit-ts-filter-invert/notes.txt']);
    expect(readFileSync(join(cwd, 'nbdkit-ts-filter-invert', 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('so is one given with --dir, and a file', () => {
    mkdirSync(join(cwd, 'work', '.git'), { recursive: true });
    expect(cli('plugin', ['ram', '--dir', 'work'], cwd).err).toBe('create-plugin: ./work exists and is not empty: give another NAME, or a new or empty directory with --dir\n');
    writeFileSync(join(cwd, 'file'), '');
    expect(cli('plugin', ['ram', '--dir=file'], cwd).err).toBe('create-plugin: ./file exists and is not a directory: give another NAME, or a new directory with --dir\n');
    expect(() => scaffold({ kind: 'plugin', name: 'ram', dir: 'work', cwd })).toThrow('./work exists and is not empty');
  });

  it('an empty directory is used, and a missing one is made with its parents', () => {
    expect(cli('filter', ['invert', '--dir', '.'], cwd).status).toBe(0);
    expect(JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'))).toMatchObject({ name: 'nbdkit-ts-filter-invert' });
    const r = cli('plugin', ['ram', '--dir', 'a/b/c'], cwd);
    expect(r.status).toBe(0);
    expect(r.out).toContain('Wrote nbdkit-ts-plugin-ram in ./a/b/c:\n');
    expect(r.out).toContain('\n  cd ./a/b/c\n');
    expect(JSON.parse(readFileSync(join(cwd, 'a/b/c/package.json'), 'utf8'))).toMatchObject({ name: 'nbdkit-ts-plugin-ram' });
  });
});

describe('the command line', () => {
  it.each(KINDS)('create-%s --help prints the usage', (kind) => {
    for (const help of ['--help', '-h']) {
      const r = cli(kind, [help], cwd);
      expect(r.status).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: npm init @nbdkit-ts/${kind} NAME \\[-- --dir DIR\\]\n {7}create-${kind} NAME \\[--dir DIR\\]\n`));
      expect(r.out).toContain('--dir DIR');
      expect(r.err).toBe('');
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it.each([
    [[], 'create-filter: NAME is missing: create-filter NAME [--dir DIR] (npm init @nbdkit-ts/filter NAME)\nTry create-filter --help.\n'],
    [['a', 'b'], 'create-filter: one NAME only, got "a", "b"\nTry create-filter --help.\n'],
    [['a', '--force'], 'create-filter: unknown option --force\nTry create-filter --help.\n'],
    [['a', '--dir'], 'create-filter: --dir needs a directory: --dir DIR\nTry create-filter --help.\n'],
    [['a', '--dir='], 'create-filter: --dir needs a directory: --dir DIR\nTry create-filter --help.\n'],
  ])('%j is refused', (argv, message) => {
    const r = cli('filter', argv, cwd);
    expect(r.status).toBe(1);
    expect(r.err).toBe(message);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('writes the package and says what to do next', () => {
    const r = cli('filter', ['invert'], cwd);
    expect(r.status).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toBe(
      [
        'Wrote nbdkit-ts-filter-invert in ./nbdkit-ts-filter-invert:',
        ...['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'vitest.config.ts', '.gitignore', 'src/index.ts', 'test/conformance.test.ts'].map((f) => `  ${f}`),
        '',
        'Next:',
        '  cd ./nbdkit-ts-filter-invert',
        '  npm install',
        '  npm run build',
        '  npm test         # needs nbdsh (Debian and Ubuntu: apt install libnbd-bin python3-libnbd)',
        `  npx nbdkit-ts -U - --filter=./dist/index.js memory 1M --run 'nbdinfo "$uri"'`,
        '',
      ].join('\n'),
    );
    expect(listing(join(cwd, 'nbdkit-ts-filter-invert'))).toEqual(['.gitignore', 'README.md', 'package.json', 'src/index.ts', 'test/conformance.test.ts', 'tsconfig.build.json', 'tsconfig.json', 'vitest.config.ts']);
  });
});

describe('the version ranges', () => {
  const manifest = (devDependencies: Record<string, string>) => {
    const file = join(cwd, 'package.json');
    writeFileSync(file, JSON.stringify({ name: 'x', version: '1.0.0', engines: { node: '>=22' }, devDependencies }));
    return file;
  };

  it("are this package's own: as published, or resolved from the linked package before", () => {
    const own = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> };
    const ranges = readRanges();
    expect(ranges.node).toBe(own.engines.node);
    for (const dep of DEPENDENCIES) {
      const range = own.devDependencies[dep] as string;
      if (range === 'workspace:^') {
        const { version } = JSON.parse(readFileSync(join(PACKAGE, 'node_modules', dep, 'package.json'), 'utf8')) as { version: string };
        expect(ranges.versions[dep]).toBe(`^${version}`);
      } else {
        expect(ranges.versions[dep]).toBe(range);
      }
    }
  });

  it('come from a published manifest as they are', () => {
    const deps = Object.fromEntries(DEPENDENCIES.map((d, i) => [d, `^${i + 1}.2.3`]));
    expect(readRanges(manifest(deps))).toEqual({ node: '>=22', versions: deps });
  });

  it('a missing one is an error naming it', () => {
    expect(() => readRanges(manifest({ '@nbdkit-ts/core': '^1.0.0' }))).toThrow(/package\.json: no devDependencies entry for @nbdkit-ts\/plugin-memory$/);
  });
});

describe.each(KINDS)('the generated %s package', (kind) => {
  /** Ranges no real package has, to see where each one goes. */
  const ranges: Ranges = {
    node: '>=99.1',
    versions: Object.fromEntries(DEPENDENCIES.map((d, i) => [d, `^${90 + i}.0.0`])) as Ranges['versions'],
  };
  const v = ranges.versions;
  let dir: string;
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  beforeEach(() => {
    dir = scaffold({ kind, name: 'my-layer', cwd, ranges }).dir;
  });

  it('package.json: the shape the server looks for, core as a peer at the ranges given', () => {
    const pkg = JSON.parse(read('package.json')) as Record<string, unknown>;
    expect(pkg).toMatchObject({
      name: `nbdkit-ts-${kind}-my-layer`,
      keywords: ['nbdkit-ts', `nbdkit-ts-${kind}`, 'nbd'],
      type: 'module',
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      files: ['dist', 'README.md'],
      engines: { node: '>=99.1' },
      scripts: { build: 'tsc -p tsconfig.build.json', test: 'vitest run' },
      peerDependencies: { '@nbdkit-ts/core': v['@nbdkit-ts/core'] },
    });
    expect(pkg.private).toBeUndefined();
    expect(pkg.dependencies).toBeUndefined();
    const dev: Dependency[] = ['@nbdkit-ts/core', ...(kind === 'filter' ? (['@nbdkit-ts/plugin-memory'] as const) : []), '@nbdkit-ts/server', '@nbdkit-ts/testing', '@types/node', 'typescript', 'vitest'];
    expect(pkg.devDependencies).toEqual(Object.fromEntries(dev.map((d) => [d, v[d]])));
  });

  it('no version is written in the templates: every one comes from the ranges', () => {
    const pkg = read('package.json');
    const versions = [...pkg.matchAll(/"([~^]?\d+\.\d+\.\d+[^"]*)"/g)].map((m) => m[1]);
    expect(new Set(versions)).toEqual(new Set(['1.0.0', ...Object.values(v).filter((r) => kind === 'filter' || r !== v['@nbdkit-ts/plugin-memory'])]));
  });

  it("src/index.ts: the layer, named, documented, with the API version core's type allows", () => {
    const src = read('src/index.ts');
    expect(src).toContain(kind === 'filter' ? 'export default defineFilter' : 'export default definePlugin');
    expect(src).toContain("name: 'my-layer',");
    expect(src).toContain('apiVersion: 1,');
    expect(src).toMatch(/^\/\*\*\n \* `nbdkit-ts-(filter|plugin)-my-layer`: /);
    expect(src).toContain('@packageDocumentation');
    expect(src).toContain(kind === 'filter' ? "params: [{ name: 'my-layer-log'" : "params: [{ name: 'size'");
  });

  it('test/conformance.test.ts: the conformance suite on dist/', () => {
    expect(read('test/conformance.test.ts')).toContain(
      kind === 'filter'
        ? "testFilter({ title: 'my-layer', filter: new URL('../dist/index.js', import.meta.url), params: ['my-layer-log=true'] });"
        : "testPlugin({ title: 'my-layer', plugin: new URL('../dist/index.js', import.meta.url), params: ['size=16M'] });",
    );
  });

  it('README.md: a manual, with every parameter in PARAMETERS', () => {
    const readme = read('README.md');
    expect(readme.startsWith(`# nbdkit-ts-${kind}-my-layer\n`)).toBe(true);
    expect([...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]).filter((h) => SECTIONS.includes(h as string))).toEqual(SECTIONS);
    const section = (name: string) => new RegExp(`^## ${name}$([\\s\\S]*?)^## `, 'm').exec(readme)?.[1] ?? '';
    expect(section('NAME')).toContain(`\`my-layer\` — an nbdkit-ts ${kind} that `);
    expect(section('SYNOPSIS')).toContain(kind === 'filter' ? 'nbdkit-ts --filter=my-layer PLUGIN' : 'nbdkit-ts my-layer SIZE');
    expect(section('PARAMETERS')).toContain(kind === 'filter' ? '`my-layer-log=true|false`' : '`size=SIZE`');
    expect(section('ERRORS')).toContain(kind === 'filter' ? 'my-layer-log=VALUE: expected a boolean' : 'no size given: nbdkit-ts my-layer SIZE');
  });

  it('tsconfig.json stands alone, and nothing speaks of how nbdkit-ts itself is developed', () => {
    expect(JSON.parse(read('tsconfig.build.json'))).not.toHaveProperty('extends');
    expect(JSON.parse(read('tsconfig.json'))).toMatchObject({ extends: './tsconfig.build.json' });
    for (const file of listing(dir)) expect(read(file), file).not.toMatch(/workspace|pnpm|turbo|changeset|monorepo|CONTRIBUTING|\.\.\/\.\.\/|examples\//i);
  });
});
