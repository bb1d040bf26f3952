#!/usr/bin/env node
// Runs nbdkit's own test scripts against nbdkit-ts, over the tests listed in
// scripts/nbdkit-tests.list (those whose plugins and filters nbdkit-ts ships), and prints
// a summary: how many passed, failed and were skipped, the pass rate, and each test that
// did not pass with the runner's last words about it.
//
//   node scripts/nbdkit-tests.mjs [--runner PATH] [--only REGEX] [--keep]
//
// The tests themselves are not part of this repository: PATH is the `run` script of a copy
// of nbdkit's tests/ directory with its runner (default: $NBDKIT_TESTS_RUNNER, else
// ../shared/peer/nbdkit-tests/run beside the repository). Build first (pnpm build): the
// tests run packages/server/dist/cli/main.js. --only and --keep go to the runner.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const listFile = join(root, 'scripts/nbdkit-tests.list');

function options(argv) {
  const out = { runner: process.env.NBDKIT_TESTS_RUNNER || join(root, '../shared/peer/nbdkit-tests/run'), passThrough: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--runner') out.runner = argv[++i];
    else if (arg === '--only') out.passThrough.push('--only', argv[++i]);
    else if (arg === '--keep') out.passThrough.push('--keep');
    else {
      console.error('usage: node scripts/nbdkit-tests.mjs [--runner PATH] [--only REGEX] [--keep]');
      process.exit(2);
    }
  }
  return out;
}

/** The tests listed, and those left out with the reason given in the list. */
function readList() {
  const included = [];
  const excluded = [];
  for (const line of readFileSync(listFile, 'utf8').split('\n')) {
    const left = /^#\s*(test-\S+\.sh):\s*(.*)$/.exec(line);
    if (left !== null) excluded.push({ name: left[1], why: left[2] });
    else if (/^test-\S+\.sh\s*$/.test(line)) included.push(line.trim());
  }
  return { included, excluded };
}

const { runner, passThrough } = options(process.argv.slice(2));
if (!existsSync(runner)) {
  console.error(`${runner}: no such runner; give the run script of a copy of nbdkit's tests with --runner PATH or $NBDKIT_TESTS_RUNNER`);
  process.exit(2);
}
const cli = join(root, 'packages/server/dist/cli/main.js');
if (!existsSync(cli)) {
  console.error(`${cli} is missing: run pnpm build first`);
  process.exit(2);
}

const { included, excluded } = readList();
const started = Date.now();
const results = [];
const child = spawn(runner, ['--server', `node ${cli}`, '--list', listFile, ...passThrough], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let pending = '';
child.stdout.on('data', (chunk) => {
  pending += chunk.toString();
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    console.log(line);
    const m = /^(PASS|FAIL|SKIP) ([^\s:]+)(?: \(exit \d+\))?:? ?(.*)$/.exec(line);
    if (m !== null) results.push({ verdict: m[1], name: m[2], said: m[3] });
  }
});
child.on('close', (status) => {
  const count = (verdict) => results.filter((r) => r.verdict === verdict).length;
  const [pass, fail, skip] = [count('PASS'), count('FAIL'), count('SKIP')];
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`\nnbdkit's tests against nbdkit-ts, ${results.length} of the ${included.length} listed run (${excluded.length} more left out in the list, with why), in ${seconds} s:`);
  console.log(`  ${pass} passed, ${fail} failed, ${skip} skipped: ${results.length === 0 ? 0 : Math.round((100 * pass) / results.length)}% passed`);
  for (const verdict of ['FAIL', 'SKIP']) {
    for (const r of results.filter((x) => x.verdict === verdict)) console.log(`  ${verdict} ${r.name}: ${r.said.slice(0, 160)}`);
  }
  process.exitCode = fail === 0 && status === 0 ? 0 : 1;
});
