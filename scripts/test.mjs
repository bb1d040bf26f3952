#!/usr/bin/env node
// Runs every test of the repository once the packages are built, and ends with
// the line "N passed, N failed". The tests drive real NBD clients: when one is
// missing it is installed with apt-get (as root), and otherwise the run fails
// naming the packages to install.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingTools, TEST_TOOLS } from '../packages/testing/dist/index.js';

function ensureTools() {
  let missing = missingTools();
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((t) => TEST_TOOLS[t]))];
  const root = process.getuid?.() === 0;
  if (root && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0) {
    console.log(`installing test tools: ${packages.join(' ')}`);
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages, 'python3-libnbd'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    missing = missingTools();
  }
  if (missing.length > 0) {
    console.error(`missing test tools: ${missing.join(', ')}; install the Debian packages ${packages.join(' ')} python3-libnbd`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

ensureTools();
const dir = mkdtempSync(join(tmpdir(), 'nbdkit-ts-results-'));
const report = join(dir, 'results.json');
const vitest = spawnSync(
  'vitest',
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit', shell: false },
);
let passed = 0;
let failed;
try {
  const results = JSON.parse(readFileSync(report, 'utf8'));
  passed = results.numPassedTests;
  // A file that fails before its tests run counts as one failure.
  failed = results.numFailedTests || results.numFailedTestSuites;
} catch {
  failed = 1;
}
rmSync(dir, { recursive: true, force: true });
if (vitest.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && vitest.status === 0 ? 0 : 1);
