#!/usr/bin/env node
// Start-up of nbdkit-ts against nbdkit (C): captive runs (--run), side by side. See bench/README.md.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuModel, distBuilt, firstLine } from './lib/host.mjs';
import { median } from './lib/report.mjs';
import { CLI, REPO } from './lib/servers.mjs';

const USAGE = `usage: node bench/startup.mjs [--rounds N] [--cli PATH] [--baseline PATH] [--json FILE]

Runs nbdkit-ts (${CLI.slice(REPO.length + 1)}) and nbdkit (C) with the file plugin
as captive servers (-U - file IMG --run CMD), alternately, and prints medians as
Markdown tables: time to listening and CPU time until then, and wall, user and
system time of the whole command.

  --rounds N     runs of each workload on each server (default 21)
  --cli PATH     the nbdkit-ts command to run (default: this checkout's)
  --baseline PATH  another nbdkit-ts command (another build) to run in the same rounds
  --json FILE    write every run and the summary to FILE
                 (default bench/results/startup-DATE.json)
  -h, --help     this text`;

/** $PPID of the --run command is the server. */
const SERVER_CPU = 'cat /proc/$PPID/task/*/schedstat';

/** The workloads: what --run runs. The first line of `listen` is the time it started. */
const WORKLOADS = {
  listen: `date +%s%N; ${SERVER_CPU}`,
  'nbdinfo-size': `nbdinfo --size "$uri" >/dev/null; ${SERVER_CPU}`,
};

/** A Node.js program that only listens and runs the command (no NBD): what node itself costs. */
const FLOOR = join(REPO, 'bench', 'lib', 'node-floor.mjs');

/** The workloads each server runs, where not all of them: node-floor cannot answer nbdinfo. */
const ONLY = { node: ['listen'] };
const runsWorkload = (server, workload) => ONLY[server]?.includes(workload) ?? true;

/** The servers compared, by name: (img, run) => argv. */
const SERVERS = {};

function setServers(cli, baseline) {
  const nbdkitTs = (path) => (img, run) => [process.execPath, path, '-U', '-', 'file', img, '--run', run];
  SERVERS['nbdkit-ts'] = nbdkitTs(cli);
  if (baseline !== undefined) SERVERS.baseline = nbdkitTs(baseline);
  SERVERS.nbdkit = (img, run) => ['nbdkit', '-U', '-', 'file', img, '--run', run];
  SERVERS.node = (_img, run) => [process.execPath, FLOOR, '-U', '-', '--run', run];
}

const RUSAGE = join(REPO, 'bench', 'lib', 'rusage.py');

/** Runs one captive server under rusage.py; resolves with the run's record. */
function runOne(work, img, workload, server) {
  const out = join(work, 'rusage.json');
  rmSync(out, { force: true });
  const argv = SERVERS[server](img, WORKLOADS[workload]);
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [RUSAGE, out, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.on('error', reject);
    child.on('exit', () => {
      const r = JSON.parse(readFileSync(out, 'utf8'));
      if (r.status !== 0) return reject(new Error(`${server} ${workload}: exit status ${r.status}: ${stdout.trim()}`));
      const lines = stdout.trim().split('\n');
      // schedstat: on-CPU nanoseconds of each thread first.
      const cpuNs = lines.filter((l) => /^\d+ \d+ \d+$/.test(l)).reduce((a, l) => a + Number(l.split(' ')[0]), 0);
      const rec = {
        workload, server,
        wall_ms: r.wall_us / 1000, user_ms: r.user_us / 1000, sys_ms: r.sys_us / 1000,
        server_cpu_ms: cpuNs / 1e6,
      };
      if (workload === 'listen') rec.listen_ms = Number((BigInt(lines[0]) - BigInt(r.start_ns)) / 1000n) / 1000;
      resolve(rec);
    });
  });
}

const COLUMNS = { listen_ms: 'to listening ms', server_cpu_ms: 'server CPU ms', wall_ms: 'wall ms', user_ms: 'user ms', sys_ms: 'system ms' };

/** Median, min and max of each measure, per workload and server. */
function summarise(runs) {
  const out = [];
  for (const workload of Object.keys(WORKLOADS)) {
    for (const server of Object.keys(SERVERS)) {
      if (!runsWorkload(server, workload)) continue;
      const rs = runs.filter((r) => r.workload === workload && r.server === server);
      const row = { workload, server };
      for (const k of Object.keys(COLUMNS)) {
        const xs = rs.map((r) => r[k]).filter((x) => x !== undefined);
        if (xs.length > 0) row[k] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
      }
      out.push(row);
    }
  }
  return out;
}

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function table(summary) {
  const lines = [`| workload | server | ${Object.values(COLUMNS).join(' | ')} |`, `| --- | --- |${' ---: |'.repeat(Object.keys(COLUMNS).length)}`];
  for (const row of summary) {
    const cells = Object.keys(COLUMNS).map((k) => (row[k] === undefined ? '-' : `${fmt(row[k].median)} [${fmt(row[k].min)}-${fmt(row[k].max)}]`));
    lines.push(`| ${row.workload} | ${row.server} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

async function main() {
  let v;
  try {
    ({ values: v } = parseArgs({ options: { rounds: { type: 'string' }, cli: { type: 'string' }, baseline: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    console.error(`startup: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (v.help) {
    console.log(USAGE);
    return;
  }
  const rounds = Number(v.rounds ?? 21);
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error(`startup: --rounds=${v.rounds}: expected a positive whole number`);
    process.exit(2);
  }
  setServers(v.cli ?? CLI, v.baseline);
  const work = mkdtempSync(join(tmpdir(), 'nbdkit-ts-startup-'));
  const img = join(work, 'disk.img');
  writeFileSync(img, '');
  truncateSync(img, 64 * 1024 * 1024);
  const env = {
    type: 'env', date: new Date().toISOString(), cpu_model: cpuModel(), cpus: firstLine('nproc', []), kernel: firstLine('uname', ['-r']),
    node: process.version, nbdkit: firstLine('nbdkit', ['--version']), nbdinfo: firstLine('nbdinfo', ['--version']),
    commit: firstLine('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']), dist_built: distBuilt(REPO, ['server', 'core', 'plugin-file']),
    cli: v.cli ?? CLI, baseline: v.baseline ?? null, node_extra_ca_certs: process.env.NODE_EXTRA_CA_CERTS ?? null, node_options: process.env.NODE_OPTIONS ?? null,
    rounds, loadavg_start: loadavg(),
    workloads: Object.fromEntries(Object.entries(WORKLOADS).map(([k, run]) => [k, SERVERS['nbdkit-ts']('IMG', run).join(' ')])),
  };
  console.error(`startup: ${rounds} rounds on ${env.cpu_model}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const order = Object.keys(SERVERS);
  for (const server of order) for (const workload of Object.keys(WORKLOADS)) if (runsWorkload(server, workload)) await runOne(work, img, workload, server); // warm the page cache
  const records = [];
  for (let r = 0; r < rounds; r++) {
    for (const workload of Object.keys(WORKLOADS)) {
      // The server that goes first changes from round to round.
      for (const server of [...order.slice(r % order.length), ...order.slice(0, r % order.length)]) {
        if (runsWorkload(server, workload)) records.push({ round: r, ...(await runOne(work, img, workload, server)) });
      }
    }
  }
  rmSync(work, { recursive: true, force: true });
  env.loadavg_end = loadavg();
  const summary = summarise(records);
  console.log(`start-up, ${env.date}, ${env.cpu_model} (${env.cpus} CPUs), kernel ${env.kernel}, node ${env.node}, ${env.nbdkit}, commit ${env.commit} (dist built ${env.dist_built})`);
  console.log(`nbdkit-ts: ${env.cli}${env.baseline === null ? '' : `; baseline: ${env.baseline}`}; ${rounds} rounds, load average ${env.loadavg_start.map((x) => x.toFixed(1)).join(' ')} -> ${env.loadavg_end.map((x) => x.toFixed(1)).join(' ')}${env.node_extra_ca_certs === null ? '' : `, NODE_EXTRA_CA_CERTS set (node reads it at start-up)`}\n`);
  console.log('Medians [min-max]. Server CPU: on-CPU time of all the server\'s threads when --run ran its last command; user and system: the whole command, --run included.\n');
  console.log(table(summary));
  const jsonPath = v.json ?? join(REPO, 'bench', 'results', `startup-${env.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(jsonPath, '..'), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify({ env, runs: records, summary }, null, 1) + '\n');
  console.error(`\nstartup: records in ${jsonPath}`);
}

await main();
