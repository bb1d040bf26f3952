// The create-plugin command as `npm init @nbdkit-ts/plugin` runs it: the built bin, executed
// directly. The generator itself is tested in @nbdkit-ts/create-layer, end to end included.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const create = (args: string[]) => spawnSync(join(PACKAGE, 'dist', 'bin.js'), args, { cwd, encoding: 'utf8' });

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'nbdkit-ts-create-plugin-'));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

it('is the bin npm init @nbdkit-ts/plugin runs', () => {
  const manifest = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { name: string; bin: Record<string, string> };
  expect(manifest.name).toBe('@nbdkit-ts/create-plugin');
  expect(manifest.bin).toEqual({ 'create-plugin': './dist/bin.js' });
});

it('--help prints the usage', () => {
  const r = create(['--help']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^Usage: npm init @nbdkit-ts\/plugin NAME \[-- --dir DIR\]\n {7}create-plugin NAME \[--dir DIR\]\n/);
  expect(readdirSync(cwd)).toEqual([]);
});

it('writes nbdkit-ts-plugin-NAME', () => {
  const r = create(['my-plugin']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^Wrote nbdkit-ts-plugin-my-plugin in \.\/nbdkit-ts-plugin-my-plugin:\n/);
  const dir = join(cwd, 'nbdkit-ts-plugin-my-plugin');
  expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).toMatchObject({ name: 'nbdkit-ts-plugin-my-plugin', keywords: ['nbdkit-ts', 'nbdkit-ts-plugin', 'nbd'] });
  expect(readFileSync(join(dir, 'src', 'index.ts'), 'utf8')).toContain('export default definePlugin');
});

it('refuses a bad NAME, naming it, and writes nothing', () => {
  const r = create(['My_plugin']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^create-plugin: NAME "My_plugin": use lowercase letters, digits and single dashes/);
  expect(readdirSync(cwd)).toEqual([]);
});
