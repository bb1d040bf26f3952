// Each plugin's and filter's README is its manual: the sections of a manual page, and a
// PARAMETERS section naming every parameter that `nbdkit-ts --help` and `--dump-plugin` show.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliPath, runOk } from '@nbdkit-ts/testing';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SECTIONS = ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'PARAMETERS', 'EXAMPLES', 'ERRORS', 'SEE ALSO'];

interface LayerPackage {
  readonly dir: string;
  readonly kind: 'plugin' | 'filter';
  /** The module, by path: examples are not where the server looks for names. */
  readonly module: string;
}

function layerPackages(): LayerPackage[] {
  const out: LayerPackage[] = [];
  for (const group of ['packages', 'examples']) {
    for (const name of readdirSync(join(ROOT, group))) {
      const kind = /^(plugin|filter)-/.exec(name)?.[1] as 'plugin' | 'filter' | undefined;
      const dir = join(ROOT, group, name);
      if (kind === undefined || !existsSync(join(dir, 'package.json'))) continue;
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: { '.': { default: string } } };
      out.push({ dir: `${group}/${name}`, kind, module: join(dir, pkg.exports['.'].default) });
    }
  }
  return out;
}

/** The keys listed under the layer's line of `--help`. */
function helpKeys(help: string, kind: string): string[] {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${kind} `));
  const keys: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^ {2}([^\s=]+)=/.exec(line);
    if (m === null) break;
    keys.push(m[1] as string);
  }
  return keys;
}

/**
 * Whether the PARAMETERS section documents `key`: as `key=` or `` `key` ``,
 * or through a pattern with an upper-case placeholder (`error-METHOD-rate=`
 * documents `error-pread-rate`).
 */
function documents(section: string, key: string): boolean {
  const tokens = [...section.matchAll(/([A-Za-z0-9_.-]+)=|`([A-Za-z0-9_.-]+)`/g)].map((m) => m[1] ?? m[2] ?? '');
  // A token without a literal (lower-case) part, such as `PATH`, names no parameter.
  for (const token of tokens.filter((t) => /[a-z]/.test(t))) {
    const pattern = token.replace(/[.]/g, '\\.').replace(/[A-Z][A-Z0-9_]*/g, '[a-z0-9-]+');
    if (new RegExp(`^${pattern}$`).test(key)) return true;
  }
  return false;
}

describe.each(layerPackages())('the manual of $dir', ({ dir, kind, module }) => {
  const readme = readFileSync(join(ROOT, dir, 'README.md'), 'utf8');

  it('has the sections of a manual page, in order', () => {
    const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => (m[1] as string).trim());
    expect(headings.filter((h) => SECTIONS.includes(h))).toEqual(SECTIONS);
  });

  it('names in PARAMETERS every parameter that --help shows, and --dump-plugin shows the same', async () => {
    const help = await runOk(process.execPath, [cliPath(), '--help', kind === 'filter' ? `--filter=${module}` : module]);
    const keys = helpKeys(help.stdout, kind);
    if (kind === 'plugin') {
      const dump = await runOk(process.execPath, [cliPath(), '--dump-plugin', module]);
      expect([...dump.stdout.matchAll(/^param\.([^=]+)=/gm)].map((m) => m[1])).toEqual(keys);
    }
    const section = /^## PARAMETERS$([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
    expect(keys.filter((k) => !documents(section, k)), `parameters of ${dir} missing from its README's PARAMETERS`).toEqual([]);
  });
});
