#!/usr/bin/env node
// What a request costs with the sh plugin: nbdkit-ts against nbdkit (C) running the same script. See bench/README.md.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuModel, distBuilt, firstLine } from './lib/host.mjs';
import { median } from './lib/report.mjs';
import { CLI, REPO, start } from './lib/servers.mjs';

const SCRIPT = join(REPO, 'packages', 'plugin-sh', 'test', 'file-disk.sh');

const USAGE = `usage: node bench/sh-cost.mjs [--requests N] [--rounds N] [--json FILE]

Serves a 1 MiB image with the sh plugin running ${SCRIPT.slice(REPO.length + 1)}
(a dd per read) on nbdkit-ts and on nbdkit (C), alternately, and has nbdsh read
4 KiB N times over one connection, one request at a time. Prints per request,
medians [min-max] over the rounds: wall time, the CPU time of the server's own
threads and of the processes it started (the script and dd; /proc/PID/stat
utime, stime, cutime, cstime), then, from one more run of each server under
strace -f -e trace=execve, the programs executed per request.

  --requests N   reads per run (default 500)
  --rounds N     runs of each server (default 5)
  --json FILE    write every run and the summary to FILE
                 (default bench/results/sh-cost-DATE.json)
  -h, --help     this text`;

const SERVERS = {
  'nbdkit-ts': (sock, img) => [process.execPath, CLI, '-U', sock, '-f', 'sh', SCRIPT, `file=${img}`],
  'nbdkit': (sock, img) => ['nbdkit', '-U', sock, '-f', 'sh', SCRIPT, `file=${img}`],
};

/** Reads 4 KiB N times after a first read; prints the server's counters and the time around the reads. */
const CLIENT = `
import json, os, time
pid, n = int(os.environ["SERVER_PID"]), int(os.environ["REQUESTS"])
tick = os.sysconf("SC_CLK_TCK")
def counters():
    # After "(comm) ": utime, stime, cutime, cstime are the 12th to 15th fields.
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return [int(x) / tick for x in f[11:15]]
h.pread(4096, 0)
c0, t0, w0 = counters(), time.monotonic(), time.time()
for i in range(n):
    h.pread(4096, (i * 4096) % (1 << 20))
c1, t1, w1 = counters(), time.monotonic(), time.time()
print(json.dumps({"seconds": t1 - t0, "window": [w0, w1], "counters": [b - a for a, b in zip(c0, c1)]}))
`;

function runClient(uri, env) {
  return new Promise((resolve, reject) => {
    const child = spawn('nbdsh', ['-u', uri, '-c', CLIENT], { env: { ...process.env, PATH: `/usr/bin:${process.env.PATH}`, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`nbdsh exit ${code}: ${err.trim()}`))));
  });
}

/** One run: a fresh server, N reads. With `trace`, under strace, counting the programs it executes during the reads. */
async function runOne(work, img, name, requests, trace) {
  const sock = join(work, `${name}.sock`);
  const traceFile = join(work, `${name}.strace`);
  const argv = SERVERS[name](sock, img);
  const full = trace ? ['strace', '-f', '-qq', '-ttt', '-e', 'trace=execve', '-e', 'signal=none', '-o', traceFile, ...argv] : argv;
  const { server } = await start(full, sock, join(work, 'log', `${name}.log`));
  try {
    const r = await runClient(`nbd+unix:///?socket=${sock}`, { SERVER_PID: String(server.pid), REQUESTS: String(requests) });
    if (trace) {
      const programs = {};
      for (const line of readFileSync(traceFile, 'utf8').split('\n')) {
        const m = /^\d+ (\d+\.\d+) execve\("([^"]+)".* = 0$/.exec(line);
        if (m === null || Number(m[1]) < r.window[0] || Number(m[1]) > r.window[1]) continue;
        programs[basename(m[2])] = (programs[basename(m[2])] ?? 0) + 1 / requests;
      }
      return { server: name, trace: true, execve_per_request: programs };
    }
    const [user, sys, childUser, childSys] = r.counters.map((s) => (s / requests) * 1e6);
    return { server: name, wall_us: (r.seconds / requests) * 1e6, user_us: user, sys_us: sys, child_user_us: childUser, child_sys_us: childSys, cpu_us: user + sys + childUser + childSys };
  } finally {
    // Under strace, the server is strace's child: stop it, and strace ends with it.
    const pids = trace ? readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
    for (const pid of pids) process.kill(pid, 'SIGTERM');
    await server.stop();
  }
}

const COLUMNS = { wall_us: 'wall us', cpu_us: 'CPU us (all)', user_us: 'server user', sys_us: 'server kernel', child_user_us: 'children user', child_sys_us: 'children kernel' };
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

async function main() {
  let v;
  try {
    ({ values: v } = parseArgs({ options: { requests: { type: 'string' }, rounds: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    console.error(`sh-cost: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (v.help) {
    console.log(USAGE);
    return;
  }
  const requests = Number(v.requests ?? 500);
  const rounds = Number(v.rounds ?? 5);
  if (![requests, rounds].every((n) => Number.isInteger(n) && n > 0)) {
    console.error('sh-cost: --requests and --rounds take positive whole numbers');
    process.exit(2);
  }
  const work = mkdtempSync(join(tmpdir(), 'nbdkit-ts-sh-cost-'));
  mkdirSync(join(work, 'log'));
  const img = join(work, 'disk.img');
  writeFileSync(img, '');
  truncateSync(img, 1 << 20);
  const env = {
    type: 'env', date: new Date().toISOString(), cpu_model: cpuModel(), cpus: firstLine('nproc', []), kernel: firstLine('uname', ['-r']),
    node: process.version, nbdkit: firstLine('nbdkit', ['--version']), commit: firstLine('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']),
    dist_built: distBuilt(REPO, ['server', 'core', 'plugin-sh']), requests, rounds, loadavg_start: loadavg(),
    servers: Object.fromEntries(Object.entries(SERVERS).map(([k, argv]) => [k, argv('SOCK', 'IMG').join(' ')])),
  };
  console.error(`sh-cost: ${rounds} rounds of ${requests} reads on ${env.cpu_model}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const runs = [];
  for (let r = 0; r < rounds; r++) {
    const names = Object.keys(SERVERS);
    for (const name of r % 2 ? names.reverse() : names) {
      const rec = { round: r + 1, ...(await runOne(work, img, name, requests, false)) };
      console.error(`[r${rec.round}/${rounds}] ${name.padEnd(10)} ${Object.keys(COLUMNS).map((k) => `${COLUMNS[k]} ${fmt(rec[k])}`).join(', ')}`);
      runs.push(rec);
    }
  }
  const traces = [];
  for (const name of Object.keys(SERVERS)) traces.push(await runOne(work, img, name, requests, true));
  env.loadavg_end = loadavg();
  rmSync(work, { recursive: true, force: true });

  console.log(`\n${env.date}, ${env.cpu_model} (${env.cpus} CPUs), kernel ${env.kernel}, node ${env.node}, ${env.nbdkit}, commit ${env.commit}`);
  console.log(`${rounds} rounds of ${requests} reads of 4 KiB at queue depth 1, load average ${env.loadavg_start.map((x) => x.toFixed(1)).join(' ')} -> ${env.loadavg_end.map((x) => x.toFixed(1)).join(' ')}\n`);
  const summary = Object.keys(SERVERS).map((server) => {
    const rs = runs.filter((r) => r.server === server);
    const row = { server };
    for (const k of Object.keys(COLUMNS)) row[k] = { median: median(rs.map((r) => r[k])), min: Math.min(...rs.map((r) => r[k])), max: Math.max(...rs.map((r) => r[k])) };
    row.execve_per_request = traces.find((t) => t.server === server).execve_per_request;
    return row;
  });
  console.log(`| server | ${Object.values(COLUMNS).join(' | ')} | programs executed per request |`);
  console.log(`| --- |${' ---: |'.repeat(Object.keys(COLUMNS).length)} --- |`);
  for (const row of summary) {
    const cells = Object.keys(COLUMNS).map((k) => `${fmt(row[k].median)} [${fmt(row[k].min)}-${fmt(row[k].max)}]`);
    const programs = Object.entries(row.execve_per_request).map(([p, n]) => `${p} ${n.toFixed(2)}`).join(', ');
    console.log(`| ${row.server} | ${cells.join(' | ')} | ${programs} |`);
  }
  console.log('\nPer request (us): wall time seen by the client; CPU time of the server\'s threads and of the processes it started and waited for.');
  const jsonPath = v.json ?? join(REPO, 'bench', 'results', `sh-cost-${env.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(jsonPath, '..'), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify({ env, runs, traces, summary }, null, 1) + '\n');
  console.error(`\nsh-cost: records in ${jsonPath}`);
}

await main();
