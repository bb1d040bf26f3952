import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, tempDir } from '@nbdkit-ts/testing';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'check-release.mjs');

describe('scripts/check-release.mjs', () => {
  let repo: string;

  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), content);
  };
  const manifest = (name: string, version: string, extra: object = {}) => JSON.stringify({ name, version, ...extra }, null, 2);
  const check = (root: string) => run(process.execPath, [SCRIPT, root]);

  beforeEach(() => {
    repo = tempDir('nbdkit-ts-release-test-');
    write('package.json', JSON.stringify({ name: 'root', private: true }));
    write('pnpm-workspace.yaml', 'packages:\n  - packages/*\n  - examples/*\n');
    write('.changeset/config.json', JSON.stringify({ changelog: false, commit: false, access: 'public', baseBranch: 'main', bumpVersionsWithWorkspaceProtocolOnly: true }));
    write('packages/core/package.json', manifest('@x/core', '1.0.0'));
    write('packages/filter-a/package.json', manifest('@x/filter-a', '1.0.0', { peerDependencies: { '@x/core': '^1.0.0' } }));
    write('examples/filter-b/package.json', manifest('filter-b', '1.0.0', { private: true, peerDependencies: { '@x/core': '^1.0.0' } }));
    write('docs/writing-a-filter.md', '```json\n{\n  "peerDependencies": { "@x/core": "^1.0.0" }\n}\n```\n');
  });

  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  it("passes for this repository's pending changesets, and prints the versions they release", async () => {
    const r = await check(ROOT);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^@nbdkit-ts\/core \d+\.\d+\.\d+$/m);
    expect(r.status).toBe(0);
  });

  it('passes for a minor release of core', async () => {
    write('.changeset/core-minor.md', '---\n"@x/core": minor\n---\n\nSomething new.\n');
    const r = await check(repo);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('@x/core 1.1.0\n');
  });

  it('fails on a peer range the released core leaves: the packages, the examples and the guides', async () => {
    write('.changeset/core-major.md', '---\n"@x/core": major\n---\n\nSomething breaks.\n');
    const r = await check(repo);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('@x/filter-a: peerDependencies "@x/core": "^1.0.0" does not include the released @x/core 2.0.0');
    expect(r.stderr).toContain('filter-b: peerDependencies "@x/core": "^1.0.0" does not include the released @x/core 2.0.0');
    expect(r.stderr).toContain('docs/writing-a-filter.md: peerDependencies "@x/core": "^1.0.0" does not include the released @x/core 2.0.0');
  });

  it('releases a package at 1.0.0-0 as 1.0.0 whatever its changesets say, and fails on one without a changeset', async () => {
    write('packages/core/package.json', manifest('@x/core', '1.0.0-0'));
    write('packages/filter-a/package.json', manifest('@x/filter-a', '1.0.0-0', { peerDependencies: { '@x/core': '^1.0.0' } }));
    write('.changeset/core-minor.md', '---\n"@x/core": minor\n---\n\nSomething new.\n');
    const r = await check(repo);
    expect(r.stdout).toContain('@x/core 1.0.0\n');
    expect(r.stderr).toContain('@x/filter-a would be published as 1.0.0-0: its first release needs a changeset');
    expect(r.status).toBe(1);
    write('.changeset/a.md', '---\n"@x/filter-a": major\n---\n\nFirst release.\n');
    const released = await check(repo);
    expect(released.stderr).toBe('');
    expect(released.stdout).toContain('@x/filter-a 1.0.0\n');
  });

  it('fails on a warning of changeset version', async () => {
    write('packages/filter-a/package.json', manifest('@x/filter-a', '1.0.0', { dependencies: { '@x/core': 'workspace:^2.0.0' } }));
    write('.changeset/a.md', '---\n"@x/filter-a": patch\n---\n\nA fix.\n');
    const r = await check(repo);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('changeset version would cut a broken release:');
    expect(r.stderr).toContain('"@x/filter-a" must depend on the current version of "@x/core": "1.0.0" vs "workspace:^2.0.0"');
  });
});
