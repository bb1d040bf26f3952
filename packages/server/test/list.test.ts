import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, run, tempDir } from '@nbdkit-ts/testing';

const filter = (name: string, apiVersion: number) => `import { defineFilter } from '@nbdkit-ts/core';
export default defineFilter({ apiVersion: ${apiVersion}, name: '${name}' });
`;

/** Writes a package into `project`'s node_modules. */
function addPackage(project: string, name: string, version: string, source: string): string {
  const dir = join(project, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version, type: 'module', exports: { '.': { default: './index.js' } } }));
  writeFileSync(join(dir, 'index.js'), source);
  return dir;
}

describe('nbdkit-ts --list', () => {
  let project: string;
  let elsewhere: string;

  beforeAll(() => {
    project = tempDir('nbdkit-ts-list-');
    elsewhere = tempDir('nbdkit-ts-list-cwd-');
    addPackage(project, 'nbdkit-ts-filter-plusone', '0.3.0', filter('plusone', 1));
    addPackage(project, 'nbdkit-ts-filter-old', '0.0.9', filter('old', 0));
    addPackage(project, 'nbdkit-ts-plugin-broken', '2.0.0', `import 'nbdkit-ts-no-such-package';\n`);
    addPackage(project, '@nbdkit-ts/filter-error', '9.9.9', filter('error', 1));
    const core = dirname(createRequire(cliPath()).resolve('@nbdkit-ts/core/package.json'));
    symlinkSync(core, join(project, 'node_modules', '@nbdkit-ts', 'core'));
  });

  afterAll(() => {
    rmSync(project, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  const list = (env: NodeJS.ProcessEnv) => run(process.execPath, [cliPath(), '--list'], { cwd: elsewhere, env: { NODE_PATH: '', ...env } });
  const lineOf = (out: string, name: string) => out.split('\n').find((l) => l.startsWith(`  ${name} `)) ?? '';

  it('shows the first-party layers beside the server, with version, API version and place', async () => {
    const r = await list({ NBDKIT_TS_PATH: '' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const reopen = lineOf(r.stdout, 'reopen');
    expect(reopen).toMatch(/^ {2}reopen +\d+\.\d+\.\d+\S* +api 1 +@nbdkit-ts\/filter-reopen +\S+ \(server install\)$/);
    expect(lineOf(r.stdout, 'file')).toContain('@nbdkit-ts/plugin-file');
    expect(r.stdout.indexOf('Plugins:')).toBeLessThan(r.stdout.indexOf('  file '));
    expect(r.stdout.indexOf('Filters:')).toBeLessThan(r.stdout.indexOf('  reopen '));
    expect(r.stdout).toContain(`${elsewhere} (working directory)`);
    expect(r.stdout).toContain('$NBDKIT_TS_PATH is not set');
    expect(lineOf(r.stdout, 'plusone')).toBe('');
  });

  it('finds third-party packages through $NBDKIT_TS_PATH and says why one would be refused', async () => {
    const r = await list({ NBDKIT_TS_PATH: project });
    expect(r.status).toBe(0);
    expect(lineOf(r.stdout, 'plusone')).toMatch(
      new RegExp(`^ {2}plusone +0\\.3\\.0 +api 1 +nbdkit-ts-filter-plusone +${join(project, 'node_modules', 'nbdkit-ts-filter-plusone')} \\(\\$NBDKIT_TS_PATH\\)$`),
    );
    const lines = r.stdout.split('\n');
    const old = lines.findIndex((l) => l.startsWith('  old '));
    expect(lines[old]).toMatch(/^ {2}old +0\.0\.9 +api - +nbdkit-ts-filter-old /);
    expect(lines[old + 1]).toMatch(/^ +incompatible: filter "old" .* was written for API version 0, but this server implements API version 1/);
    const broken = lines.findIndex((l) => l.startsWith('  broken '));
    expect(lines[broken]).toMatch(/^ {2}broken +2\.0\.0 +api - +nbdkit-ts-plugin-broken /);
    expect(lines[broken + 1]).toMatch(/^ +incompatible: .*nbdkit-ts-no-such-package/);
    expect(r.stdout).toContain(`${project} ($NBDKIT_TS_PATH)`);
  });

  it('shows which copy is used when the same layer is in two places', async () => {
    const r = await list({ NBDKIT_TS_PATH: project });
    const lines = r.stdout.split('\n');
    const error = lines.findIndex((l) => l.startsWith('  error '));
    expect(lines[error]).toMatch(/^ {2}error +9\.9\.9 +api 1 +@nbdkit-ts\/filter-error .*\(\$NBDKIT_TS_PATH\)$/);
    expect(lines[error + 1]).toMatch(/^ +not used: @nbdkit-ts\/filter-error in \S+ \(server install\), found later in the search path$/);
  });
});
