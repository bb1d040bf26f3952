import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CORE = fileURLToPath(new URL('..', import.meta.url));

describe('the API reference (pnpm docs)', () => {
  const out = mkdtempSync(join(tmpdir(), 'nbdkit-ts-api-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('builds from the TSDoc of core with no warning (broken links and unexported types fail it)', () => {
    const typedoc = join(CORE, 'node_modules', '.bin', 'typedoc');
    const output = execFileSync(typedoc, ['--out', out], { cwd: CORE, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(output).toContain('html generated at');
    expect(output).not.toContain('[warning]');
    const page = (path: string) => readFileSync(join(out, path), 'utf8');
    expect(page('functions/defineFilter.html')).toContain('Defines a filter');
    expect(page('interfaces/Context.html')).toContain('setNext');
    expect(page('interfaces/OpenOptions.html')).toContain('A shared context');
    expect(existsSync(join(out, 'variables/API_VERSION.html'))).toBe(true);
  });
});
