#!/usr/bin/env node
// Runs nbdkit's own test scripts against nbdkit-ts, over the tests listed in
// scripts/nbdkit-tests.list (those whose plugins and filters nbdkit-ts ships), and prints
// a summary: how many passed, failed and were skipped, the pass rate, and each test that
// did not pass with the runner's last words about it. A test that fails is run once more
// (some of nbdkit's tests race with the machine's load): it counts as failed when it fails
// twice. A test listed as `test-NAME.sh  # fails: REASON` is expected to fail, for that
// reason; the exit status is 1 when a test failed that is not expected to, else 0.
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

/** The tests listed, those expected to fail (by name, with why), and those left out with the reason given in the list. */
function readList() {
  const included = [];
  const failing = new Map();
  const excluded = [];
  for (const line of readFileSync(listFile, 'utf8').split('\n')) {
    const left = /^#\s*(test-\S+\.sh):\s*(.*)$/.exec(line);
    const test = /^(test-\S+\.sh)\s*(?:#\s*fails:\s*(.*))?$/.exec(line);
    if (left !== null) excluded.push({ name: left[1], why: left[2] });
    else if (test !== null) {
      included.push(test[1]);
      if (test[2] !== undefined) failing.set(test[1], test[2]);
    }
  }
  return { included, failing, excluded };
}

/** Runs the runner over `args`; calls `onResult` for each verdict line, and resolves with its exit status. */
function runTests(args, onResult) {
  return new Promise((resolveRun) => {
    const child = spawn(runner, ['--server', `node ${cli}`, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let pending = '';
    child.stdout.on('data', (chunk) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        // The runner's own count is of this pass only: the summary below counts.
        if (/^\d+ passed, \d+ failed/.test(line)) continue;
        console.log(line);
        const m = /^(PASS|FAIL|SKIP) ([^\s:]+)(?: \(exit \d+\))?:? ?(.*)$/.exec(line);
        if (m !== null) onResult({ verdict: m[1], name: m[2], said: m[3] });
      }
    });
    child.on('close', (status) => resolveRun(status));
  });
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

const { included, failing, excluded } = readList();
const started = Date.now();
const results = new Map();
const status = await runTests(['--list', listFile, ...passThrough], (r) => results.set(r.name, r));
const failed = [...results.values()].filter((r) => r.verdict === 'FAIL');
const flaky = [];
for (const r of failed.filter((x) => !failing.has(x.name))) {
  console.log(`${r.name} failed: once more`);
  await runTests(['--only', `^${r.name.replace(/[.]/g, '\\.')}$`, ...passThrough.filter((a) => a === '--keep')], (again) => {
    if (again.verdict === 'PASS') flaky.push(r.name);
    results.set(r.name, again);
  });
}
const all = [...results.values()];
const count = (verdict) => all.filter((r) => r.verdict === verdict).length;
const [pass, fail, skip] = [count('PASS'), count('FAIL'), count('SKIP')];
const unexpected = all.filter((r) => r.verdict === 'FAIL' && !failing.has(r.name));
const seconds = Math.round((Date.now() - started) / 1000);
console.log(`\nnbdkit's tests against nbdkit-ts, ${all.length} of the ${included.length} listed run (${excluded.length} more left out in the list, with why), in ${seconds} s:`);
console.log(`  PASS ${pass}, FAIL ${fail} (${fail - unexpected.length} of them expected), SKIP ${skip}: ${all.length === 0 ? 0 : Math.round((100 * pass) / all.length)}% of those run pass`);
for (const name of flaky) console.log(`  FLAKY ${name}: failed, then passed when run again`);
for (const verdict of ['FAIL', 'SKIP']) {
  for (const r of all.filter((x) => x.verdict === verdict)) {
    const why = verdict === 'FAIL' && failing.has(r.name) ? ` (expected: ${failing.get(r.name)})` : '';
    console.log(`  ${verdict} ${r.name}: ${r.said.slice(0, 160)}${why}`);
  }
}
for (const name of failing.keys()) {
  if (results.get(name)?.verdict === 'PASS') console.log(`  PASS ${name}, listed as expected to fail: the list is out of date`);
}
process.exitCode = unexpected.length === 0 && (status === 0 || fail > 0) ? 0 : 1;
