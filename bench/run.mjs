#!/usr/bin/env node
// nbdkit-ts against nbdkit (C) on the same image, in interleaved rounds. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CounterLog, epochMsToMonotonicUs, monotonicUs } from './lib/counters.mjs';
import { formatSummary, summarise as summariseProfile } from './lib/cpuprofile.mjs';
import { createImage, parseSize, preparePageCache } from './lib/image.mjs';
import { cpuModel, distBuilt, firstLine } from './lib/host.mjs';
import { formatReport, perfAvailable, record as perfRecord, report as perfReport } from './lib/perf.mjs';
import { formatTables, summarise } from './lib/report.mjs';
import { CLI, Fleet, PAIRS, PLUGINS, REPO, SERVERS, resetPeakRss, stackUnavailable, statusMiB, pinServers, useBaseline } from './lib/servers.mjs';
import { UNITS, WORKLOADS, clientArgv, fioMetrics, selectWorkloads, warmupArgvs } from './lib/workloads.mjs';

const USAGE = `usage: node bench/run.mjs [OPTIONS]

Starts nbdkit-ts (${CLI.slice(REPO.length + 1)}) and nbdkit (C) side by side on the
same image (or the same disk in memory: --plugin memory), warms them up, and runs
the workloads in interleaved rounds; prints medians, the ratio nbdkit-ts / nbdkit,
server CPU and peak RSS as Markdown tables.

  --quick               fewer workloads, 3 rounds of 1 s on a 512M image, memory of
                        nbdkit-ts only (under two minutes on an idle 2-core machine)
  --rounds N            rounds (default 9; --quick 3; --profile 1)
  --runtime S           measured seconds of each fio run (default 2; --quick 1; --profile 3)
  --ramp S              unmeasured fio ramp-up seconds of each run (default 0.5; --quick 0.25;
                        --profile 1)
  --warmup S            unmeasured client load on each server after it starts
                        (default 4; --quick 2)
  -w, --workloads LIST  workload or group names, comma-separated (see --list)
  --list                list the workloads and exit
  --plugin NAME         the plugin both servers serve: file (default: file=IMAGE, the
                        generated image or --image) or memory (memory size=SIZE: no
                        image, no page-cache steps; each server's disk is filled once
                        with 1 MiB writes before its warm-up; the memory workloads,
                        whose peak RSS would include the disk, are skipped)
  --size SIZE           size of the generated image or of the disk in memory
                        (default 1G; --quick 512M)
  --image PATH          use this image instead (write workloads change its contents)
  --cache-reset MODE    page-cache state before each run: check (default: verify that
                        the image is resident in 4 KiB folios, repair it if not) or
                        always (drop and re-read the image before every run)
  --rss-limit MIB       peak RSS the memory workloads must stay under (default 300)
  --cpus LIST           run every server under taskset -c LIST (for example 0 or 0,1):
                        how much of a machine each server can use; the clients are not
                        pinned
  --baseline CLI        compare with another nbdkit-ts build instead of nbdkit: CLI is
                        its packages/server/dist/cli/main.js (a built git worktree at
                        another commit), to measure a change on both sides in one run
  --json FILE           write every run and the summary to FILE
                        (default bench/results/run-DATE.json)
  --profile DIR         instead of comparing: profile the nbdkit-ts servers (files
                        kept in DIR) and print, for each workload, where the time
                        went during its measured interval
  --profiler NAME       cpu-prof (default: node --cpu-prof, V8's wall-clock samples
                        of the main thread) or perf (Linux perf, on-CPU samples of
                        all threads, kernel included; node runs with --perf-basic-prof)
  --workdir DIR         sockets, logs and the image (default: a new directory in $TMPDIR)
  --keep                keep the generated image
  -h, --help            this text

Exit status: 0 done, 1 a run failed, 2 bad usage or setup, 3 the memory check failed.`;

function die(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}

function positive(option, text, integer) {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    die(`${option}=${text}: expected a positive ${integer ? 'whole number' : 'number'}`);
  }
  return n;
}

function options() {
  let v;
  try {
    ({ values: v } = parseArgs({
      options: {
        quick: { type: 'boolean' }, rounds: { type: 'string' }, runtime: { type: 'string' }, ramp: { type: 'string' },
        warmup: { type: 'string' }, workloads: { type: 'string', short: 'w' }, list: { type: 'boolean' },
        size: { type: 'string' }, plugin: { type: 'string' }, image: { type: 'string' }, 'cache-reset': { type: 'string' }, 'rss-limit': { type: 'string' },
        json: { type: 'string' }, cpus: { type: 'string' }, baseline: { type: 'string' }, profile: { type: 'string' }, profiler: { type: 'string' }, workdir: { type: 'string' }, keep: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    die(`${e.message}\n${USAGE}`);
  }
  if (v.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (v.list) {
    for (const w of WORKLOADS) console.log(`${w.name.padEnd(20)} ${w.group.padEnd(7)} ${w.quick ? 'quick' : '     '} ${UNITS[w.metric].padEnd(5)} ${w.desc}`);
    process.exit(0);
  }
  const quick = v.quick === true;
  if (v.baseline !== undefined) {
    const cli = resolve(v.baseline);
    if (!existsSync(cli)) die(`--baseline=${v.baseline}: no such file (the dist/cli/main.js of a built checkout)`);
    useBaseline(cli);
  }
  if (v.cpus !== undefined) {
    if (!/^\d+([-,]\d+)*$/.test(v.cpus)) die(`--cpus=${v.cpus}: expected a CPU list for taskset -c, such as 0 or 0,1 or 0-3`);
    if (spawnSync('taskset', ['-c', v.cpus, 'true']).status !== 0) die(`--cpus=${v.cpus}: taskset -c ${v.cpus} true failed (util-linux's taskset, and CPUs this machine has)`);
    pinServers(v.cpus);
  }
  const profile = v.profile === undefined ? undefined : resolve(v.profile);
  const cacheReset = v['cache-reset'] ?? 'check';
  if (cacheReset !== 'check' && cacheReset !== 'always') die(`--cache-reset=${cacheReset}: expected check or always`);
  let workloads;
  let size;
  try {
    workloads = selectWorkloads(quick, v.workloads);
    size = parseSize('--size', v.size ?? (quick ? '512M' : '1G'));
  } catch (e) {
    die(e.message);
  }
  const plugin = v.plugin ?? 'file';
  if (!Object.hasOwn(PLUGINS, plugin)) die(`--plugin=${plugin}: expected ${Object.keys(PLUGINS).join(' or ')}`);
  if (plugin !== 'file' && (v.image !== undefined || v['cache-reset'] !== undefined)) die(`--plugin=${plugin} serves no image: --image and --cache-reset are for --plugin file`);
  if (v.image !== undefined && !existsSync(v.image)) die(`--image=${v.image}: no such file`);
  const profiler = v.profiler ?? 'cpu-prof';
  if (profiler !== 'cpu-prof' && profiler !== 'perf') die(`--profiler=${profiler}: expected cpu-prof or perf`);
  if (v.profiler !== undefined && profile === undefined) die('--profiler needs --profile DIR');
  if (profiler === 'perf' && !perfAvailable()) die('--profiler=perf: perf is not installed (Debian: linux-perf)');
  return {
    quick,
    profile,
    profiler,
    workloads,
    plugin,
    size,
    cacheReset,
    image: v.image === undefined ? undefined : resolve(v.image),
    rounds: v.rounds !== undefined ? positive('--rounds', v.rounds, true) : profile ? 1 : quick ? 3 : 9,
    runtime: v.runtime !== undefined ? positive('--runtime', v.runtime) : profile ? 3 : quick ? 1 : 2,
    ramp: v.ramp !== undefined ? positive('--ramp', v.ramp) : profile ? 1 : quick ? 0.25 : 0.5,
    warmup: v.warmup !== undefined ? positive('--warmup', v.warmup) : quick ? 2 : 4,
    rssLimit: v['rss-limit'] !== undefined ? positive('--rss-limit', v['rss-limit']) : 300,
    json: v.json === undefined ? undefined : resolve(v.json),
    workdir: v.workdir === undefined ? undefined : resolve(v.workdir),
    keep: v.keep === true,
    cpus: v.cpus,
  };
}

function checkTools() {
  if (!existsSync(CLI)) die(`${CLI} is missing: build first (pnpm install && pnpm -r build)`);
  for (const [tool, args] of [['nbdkit', ['--version']], ['fio', ['--enghelp=nbd']], ['nbdcopy', ['--version']], ['python3', ['--version']]]) {
    const r = spawnSync(tool, args, { encoding: 'utf8' });
    if (r.status !== 0) die(`${tool} ${args.join(' ')} failed: install nbdkit, fio (with the nbd engine), libnbd-bin and python3`);
  }
}

/** Runs a client to completion (killed after timeoutMs); its output goes to logPath. */
function runClient(argv, logPath, timeoutMs) {
  return new Promise((resolveRun) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (b) => (output = (output + b.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const killTimer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      appendFileSync(logPath, `$ ${argv.join(' ')}\n${output}\n`);
      resolveRun({ code, signal, output });
    });
  });
}

const clientError = (result) => `client exit ${result.code ?? result.signal}: ${result.output.trim().split('\n').slice(-3).join(' ')}`;

/** The running server `name`; a server that has just started is first warmed up. */
async function serverFor(ctx, name) {
  const entry = await ctx.fleet.get(name);
  if (entry.fresh) {
    const log = join(ctx.work, 'log', 'client.log');
    const fill = ctx.img === undefined; // a disk in memory: written whole first
    for (const argv of warmupArgvs(entry.uri, ctx.opts.warmup, join(ctx.work, 'warmup.json'), fill)) {
      const r = await runClient(argv, log, (ctx.opts.warmup + 60 + ctx.imageBytes / 2 ** 24) * 1000);
      if (r.code !== 0) throw new Error(`warm-up of ${name}: ${clientError(r)}`);
    }
  }
  return entry;
}

async function runOne(ctx, w, serverName, round) {
  const { opts, work, img, imageBytes } = ctx;
  const rec = { type: 'run', group: w.group, workload: w.name, server: serverName, round, ok: false };
  const t = Date.now();
  let entry;
  try {
    entry = await serverFor(ctx, serverName);
    if (img !== undefined) rec.cache = preparePageCache(img, opts.cacheReset);
  } catch (e) {
    rec.error = e.message;
    return rec;
  }
  const { server } = entry;
  rec.server_start = entry.n;
  rec.rss_before_mib = statusMiB(server.pid, 'VmRSS');
  rec.peak_rss_scope = resetPeakRss(server.pid) ? 'run' : 'server lifetime';
  const clientLog = join(work, 'log', 'client.log');
  const fioOut = join(work, 'fio.json');
  const argv = clientArgv(w, entry.uri, { runtime: opts.runtime, ramp: opts.ramp, fioOut });
  const counters = new CounterLog(server.pid);
  rmSync(fioOut, { force: true });
  let perf;
  const perfTimer = opts.profiler === 'perf' && opts.profile !== undefined
    ? setTimeout(() => {
      rec.perf_data = join(opts.profile, `${w.name}.perf.data`);
      perf = perfRecord(server.pid, rec.perf_data);
    }, w.kind === 'fio' ? opts.ramp * 1000 : 0)
    : undefined;
  const t0 = monotonicUs();
  const result = await runClient(argv, clientLog, (w.kind === 'fio' ? opts.runtime + opts.ramp + 60 : 300) * 1000);
  const t1 = monotonicUs();
  counters.stop();
  clearTimeout(perfTimer);
  await perf?.stop();
  rec.peak_rss_mib = statusMiB(server.pid, 'VmHWM');
  if (result.code !== 0) rec.error = clientError(result);
  else if (!server.alive) rec.error = `the server exited during the run (see ${join(work, 'log', `${serverName}.log`)})`;
  else {
    try {
      if (w.kind === 'copy') {
        rec.window_us = [t0, t1];
        const seconds = (t1 - t0) / 1e6;
        rec.mbps = imageBytes / 1e6 / seconds;
        rec.iops = imageBytes / 2 ** 20 / seconds; // 1 MiB requests per second
        rec.ops = imageBytes / 2 ** 20;
      } else {
        Object.assign(rec, fioMetrics(fioOut, w.fio.numjobs ?? 1));
        // fio's measured time: the runtime that ended when it wrote its report.
        const end = epochMsToMonotonicUs(rec.end_ms);
        rec.window_us = [end - rec.runtime_ms * 1000, end];
      }
      const d = counters.between(rec.window_us[0], rec.window_us[1]);
      rec.srv_cpu_pct = (100 * d.cpu) / d.seconds;
      rec.srv_cpu_us_per_op = (d.cpu / rec.ops) * 1e6;
      rec.srv_user_us_per_op = (d.user / rec.ops) * 1e6;
      rec.srv_sys_us_per_op = (d.sys / rec.ops) * 1e6;
      rec.srv_minflt_per_op = d.minflt / rec.ops;
      rec.srv_disk_read_mib = d.readBytes / 2 ** 20;
      rec.ok = true;
    } catch (e) {
      rec.error = `fio output: ${e.message}`;
    }
  }
  rec.seconds = (Date.now() - t) / 1000;
  return rec;
}

function progress(rec, opts, w) {
  const head = `[r${rec.round}/${opts.rounds}] ${rec.workload.padEnd(19)} ${rec.server.padEnd(16)}`;
  if (!rec.ok) return `${head} FAILED: ${rec.error}`;
  const c = rec.cache;
  const cache = c === undefined ? '' : c.reset ? ` (image dropped and re-read: ${c.reason})` : c.refetched ? ` (${c.refetched} evicted pages read back)` : '';
  const value = w.metric === 'iops' ? `${rec.iops.toFixed(0).padStart(7)} IOPS` : `${rec.mbps.toFixed(0).padStart(7)} MB/s`;
  const perOp = `${rec.srv_cpu_us_per_op.toFixed(1).padStart(6)} us/op (user ${rec.srv_user_us_per_op.toFixed(1)}, kernel ${rec.srv_sys_us_per_op.toFixed(1)})`;
  return `${head} ${value}  cpu ${rec.srv_cpu_pct.toFixed(0).padStart(3)}%  ${perOp}  peak rss ${rec.peak_rss_mib.toFixed(0)} MiB${cache}`;
}

/** The planned runs: for each round, each workload, each of its servers (first one alternating). */
function plan(opts, workloads) {
  // Profiles are of nbdkit-ts only; --quick checks the memory of nbdkit-ts only.
  const serversOf = (w) => (opts.profile !== undefined || (opts.quick && w.group === 'memory') ? [PAIRS[w.group][0]] : PAIRS[w.group]);
  const out = [];
  for (let r = 1; r <= opts.rounds; r++) {
    for (const w of workloads) {
      // One run per server is enough for a peak: in the last round, when the
      // server has been through every other workload.
      if (w.group === 'memory' && r < opts.rounds) continue;
      const s = serversOf(w);
      for (const name of r % 2 ? s : [...s].reverse()) out.push({ w, name, r });
    }
  }
  return out;
}

function printProfiles(runs, starts, opts) {
  const summary = [];
  for (const rec of runs) {
    const w = WORKLOADS.find((x) => x.name === rec.workload);
    console.log(`\n## ${rec.workload} (${rec.server}): ${rec.ok ? `${rec[w.metric].toFixed(0)} ${UNITS[w.metric]}, server CPU ${rec.srv_cpu_pct.toFixed(0)}%, ${rec.srv_cpu_us_per_op.toFixed(1)} us/op (user ${rec.srv_user_us_per_op.toFixed(1)}, kernel ${rec.srv_sys_us_per_op.toFixed(1)})` : `FAILED: ${rec.error}`}`);
    if (!rec.ok) continue;
    if (opts.profiler === 'perf') {
      try {
        const r = perfReport(rec.perf_data, 15);
        summary.push({ workload: rec.workload, server: rec.server, profile: basename(rec.perf_data), ...r });
        console.log(formatReport(r).join('\n'));
      } catch (e) {
        console.log(e.message);
      }
      continue;
    }
    const file = join(opts.profile, `${rec.server}-${rec.server_start}.cpuprofile`);
    if (!existsSync(file)) {
      console.log(`no profile: ${file} was not written`);
      continue;
    }
    const prof = summariseProfile(file, 12, rec.window_us);
    summary.push({ workload: rec.workload, server: rec.server, profile: basename(file), window_us: rec.window_us, ...prof });
    console.log(formatSummary(prof).join('\n'));
  }
  if (opts.profiler === 'cpu-prof') console.log(`\nprofiles: ${starts.map((s) => join(opts.profile, `${s.name}-${s.n}.cpuprofile`)).join(' ')}`);
  // The symbol maps node wrote for perf (--perf-basic-prof) are not needed once reported.
  else for (const s of starts) rmSync(`/tmp/perf-${s.pid}.map`, { force: true });
  return summary;
}

async function main() {
  const opts = options();
  checkTools();
  let workloads = opts.workloads;
  if (workloads.some((w) => w.group === 'stack')) {
    const why = stackUnavailable();
    if (why !== undefined) {
      console.error(`bench: skipping the filter stack workloads: the filters do not load (${why})`);
      workloads = workloads.filter((w) => w.group !== 'stack');
    }
  }
  if (opts.plugin === 'memory' && workloads.some((w) => w.group === 'memory')) {
    console.error('bench: skipping the memory workloads: with --plugin memory the peak RSS includes the disk');
    workloads = workloads.filter((w) => w.group !== 'memory');
  }
  if (workloads.length === 0) die('no workloads to run');

  const work = opts.workdir ?? mkdtempSync(join(tmpdir(), 'nbdkit-ts-bench-'));
  mkdirSync(join(work, 'log'), { recursive: true });
  if (opts.profile !== undefined) mkdirSync(opts.profile, { recursive: true });
  let img = opts.image;
  let created = false;
  if (img === undefined && opts.plugin === 'file') {
    img = join(work, 'disk.img');
    console.error(`bench: writing a ${opts.size}-byte image of random data: ${img}`);
    createImage(img, opts.size);
    created = true;
  }
  const imageBytes = img === undefined ? opts.size : statSync(img).size;
  const nodeArgs = (name, n) => {
    if (opts.profile === undefined) return [];
    if (opts.profiler === 'perf') return ['--perf-basic-prof'];
    return ['--cpu-prof', '--cpu-prof-dir', opts.profile, '--cpu-prof-name', `${name}-${n}.cpuprofile`, '--cpu-prof-interval', '500'];
  };
  const pluginArgs = (image) => PLUGINS[opts.plugin]({ img: image, size: imageBytes });
  const fleet = new Fleet(work, pluginArgs(img), nodeArgs);
  const cleanup = async () => {
    const exits = await fleet.stopAll();
    if (created && !opts.keep) rmSync(img, { force: true });
    return exits;
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  if (img !== undefined) {
    const first = preparePageCache(img, 'always');
    const verified = preparePageCache(img, 'check');
    console.error(`bench: page cache: image dropped and re-read in ${first.seconds} s; check: ${verified.reset ? `not in the known state (${verified.reason})` : `${verified.sampled} sampled pages, ${verified.large} in large folios`}`);
  }

  const env = {
    type: 'env', date: new Date().toISOString(), cpu_model: cpuModel(), kernel: firstLine('uname', ['-r']), cpus: firstLine('nproc', []),
    loadavg_start: loadavg(), node: process.version, nbdkit: firstLine('nbdkit', ['--version']),
    fio: firstLine('fio', ['--version']), nbdcopy: firstLine('nbdcopy', ['--version']),
    commit: firstLine('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']), dist_built: distBuilt(REPO, ['server', 'core', `plugin-${opts.plugin}`, 'filter-reopen', 'filter-multi-conn']),
    server_cpus: opts.cpus ?? 'all', plugin: opts.plugin, image_bytes: imageBytes, rounds: opts.rounds, runtime_s: opts.runtime, ramp_s: opts.ramp, warmup_s: opts.warmup,
    cache_reset: opts.cacheReset, quick: opts.quick, profile: opts.profile !== undefined,
    servers: Object.fromEntries(Object.entries(SERVERS).map(([k, s]) => [k, s.argv(pluginArgs('IMG'), 'SOCK').join(' ')])),
  };
  const ctx = { opts, work, img, imageBytes, fleet };
  const runsPlanned = plan(opts, workloads);
  const perRun = (p) => (p.w.kind === 'fio' ? opts.runtime + opts.ramp + 0.6 : 0.6 + imageBytes / 1e9);
  const servers = new Set(runsPlanned.map((p) => p.name));
  const estimate = runsPlanned.reduce((a, p) => a + perRun(p), 0) + servers.size * (1.5 * opts.warmup + 1);
  console.error(`bench: ${servers.size} servers, ${runsPlanned.length} runs, about ${Math.round(estimate)} s on an idle machine; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; work directory ${work}`);

  const runs = [];
  for (const p of runsPlanned) {
    const rec = await runOne(ctx, p.w, p.name, p.r);
    runs.push(rec);
    console.error(progress(rec, opts, p.w));
  }
  env.loadavg_end = loadavg();
  env.server_starts = fleet.starts;
  env.server_exits = await cleanup();

  let exit = runs.every((r) => r.ok) ? 0 : 1;
  let summary;
  if (opts.profile === undefined) {
    summary = summarise(runs, opts.rssLimit);
    console.log(`\n${opts.quick ? 'quick run' : 'run'} of ${env.date}, ${env.cpu_model} (${env.cpus} CPUs), kernel ${env.kernel}, node ${env.node}, ${env.nbdkit}, commit ${env.commit} (dist built ${env.dist_built})${opts.cpus === undefined ? '' : `, servers on CPUs ${opts.cpus}`}`);
    console.log(`${opts.plugin === 'file' ? 'image' : `plugin ${opts.plugin}, disk`} ${imageBytes} bytes, ${opts.rounds} rounds, fio ${opts.runtime} s + ${opts.ramp} s ramp, warm-up ${opts.warmup} s, load average ${env.loadavg_start.map((x) => x.toFixed(1)).join(' ')} -> ${env.loadavg_end.map((x) => x.toFixed(1)).join(' ')}\n`);
    console.log(formatTables(summary, opts.rssLimit));
    if (summary.some((s) => s.group === 'memory' && !s.rss_pass)) exit = 3;
  } else {
    console.log(`\nprofile of ${env.date}, ${env.cpu_model} (${env.cpus} CPUs), kernel ${env.kernel}, node ${env.node}, commit ${env.commit}`);
    summary = printProfiles(runs, fleet.starts, opts);
  }
  const jsonPath = opts.json ?? join(REPO, 'bench', 'results', `${opts.profile ? 'profile' : 'run'}-${env.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(jsonPath, '..'), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify({ env, runs, summary }, null, 1) + '\n');
  console.error(`\nbench: records in ${jsonPath}; logs in ${join(work, 'log')}`);
  process.exit(exit);
}

await main();
