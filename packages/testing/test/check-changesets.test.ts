import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, runOk, tempDir } from '@nbdkit-ts/testing';

const SCRIPT = fileURLToPath(new URL('../../../scripts/check-changesets.mjs', import.meta.url));
const GIT_ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };

describe('scripts/check-changesets.mjs', () => {
  let repo: string;

  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), content);
  };
  const manifest = (name: string, extra: object = {}) => JSON.stringify({ name, version: '1.0.0', ...extra }, null, 2);
  const commit = async (message: string) => {
    await runOk('git', ['add', '-A'], { cwd: repo });
    await runOk('git', ['commit', '-q', '-m', message], { cwd: repo, env: GIT_ENV });
  };
  const check = (...args: string[]) => run(process.execPath, [SCRIPT, ...args], { cwd: join(repo, 'packages'), env: { CHANGESET_BASE: '' } });

  beforeEach(async () => {
    repo = tempDir('nbdkit-ts-changesets-');
    await runOk('git', ['init', '-q', '-b', 'main'], { cwd: repo });
    write('packages/filter-a/package.json', manifest('@x/filter-a', { devDependencies: { vitest: '1' } }));
    write('packages/filter-a/src/index.ts', 'export {};\n');
    write('packages/testing/package.json', manifest('@x/testing'));
    write('examples/plugin-b/package.json', manifest('plugin-b', { private: true }));
    write('examples/plugin-b/src/index.ts', 'export {};\n');
    write('.changeset/config.json', '{}');
    await commit('first');
  });

  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  it('fails when a published package changed without a changeset, naming it and its files', async () => {
    write('packages/filter-a/src/index.ts', 'export const a = 1;\n');
    await commit('change a');
    const r = await check();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('published packages changed in ');
    expect(r.stderr).toContain('  @x/filter-a:\n    packages/filter-a/src/index.ts\n');
    expect(r.stderr).toContain('pnpm changeset');
  });

  it('passes when a changeset of the change names the package', async () => {
    write('packages/filter-a/src/index.ts', 'export const a = 1;\n');
    write('.changeset/brave-a.md', '---\n"@x/filter-a": patch\n---\n\nA is 1.\n');
    await commit('change a, with a changeset');
    const r = await check();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('fails when the changeset names another package', async () => {
    write('packages/filter-a/src/index.ts', 'export const a = 1;\n');
    write('.changeset/wrong.md', '---\n"@x/testing": patch\n---\n\nSomething.\n');
    await commit('change a, changeset for testing');
    expect((await check()).stderr).toContain('@x/filter-a:');
  });

  it('needs no changeset for tests, READMEs, devDependencies, scripts or private packages', async () => {
    write('packages/filter-a/test/a.test.ts', 'test\n');
    write('packages/filter-a/README.md', '# a\n');
    write('packages/filter-a/package.json', manifest('@x/filter-a', { devDependencies: { vitest: '2' }, scripts: { test: 'vitest' } }));
    write('examples/plugin-b/src/index.ts', 'export const b = 2;\n');
    await commit('no release needed');
    const r = await check();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('needs one for a change of what package.json ships (dependencies)', async () => {
    write('packages/filter-a/package.json', manifest('@x/filter-a', { devDependencies: { vitest: '1' }, dependencies: { koffi: '3' } }));
    await commit('new dependency');
    expect((await check()).stderr).toContain('    packages/filter-a/package.json');
  });

  it('checks only the last commit by default, and from a given base when asked', async () => {
    write('packages/filter-a/src/index.ts', 'export const a = 1;\n');
    await commit('change a');
    const first = (await runOk('git', ['rev-parse', 'HEAD~1'], { cwd: repo })).stdout.trim();
    write('packages/filter-a/README.md', '# a\n');
    await commit('docs');
    expect((await check()).status).toBe(0);
    expect((await check(first)).status).toBe(1);
    const fromEnv = await run(process.execPath, [SCRIPT], { cwd: repo, env: { CHANGESET_BASE: first } });
    expect(fromEnv.status).toBe(1);
  });

  it('counts a release commit (the version changed) as covered', async () => {
    write('packages/filter-a/src/index.ts', 'export const a = 1;\n');
    write('packages/filter-a/package.json', manifest('@x/filter-a', { version: '1.1.0', devDependencies: { vitest: '1' } }));
    await commit('release');
    expect((await check()).status).toBe(0);
  });
});
