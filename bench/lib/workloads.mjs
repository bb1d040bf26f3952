// The workloads: which client runs, with which arguments, and what is measured.
import { readFileSync } from 'node:fs';

/**
 * kind: 'copy' (nbdcopy of the whole export to null:) or 'fio' (ioengine=nbd).
 * metric: the primary number, higher is better ('iops' or 'mbps', MB/s = 10^6 bytes/s).
 * group: 'main' (nbdkit-ts against nbdkit), 'stack' (nbdkit-ts with filters
 *   against nbdkit-ts without), 'memory' (peak RSS with large requests in flight).
 * quick: part of --quick.
 */
export const WORKLOADS = [
  { name: 'seq-read-c1', group: 'main', kind: 'copy', conns: 1, metric: 'mbps', quick: true,
    desc: 'nbdcopy whole export to null:, 1 MiB requests, 1 connection' },
  { name: 'seq-read-c4', group: 'main', kind: 'copy', conns: 4, metric: 'mbps', quick: false,
    desc: 'nbdcopy whole export to null:, 1 MiB requests, 4 connections (multi-conn)' },
  { name: 'rand-read-qd1', group: 'main', kind: 'fio', fio: { rw: 'randread', bs: '4k', iodepth: 1 }, metric: 'iops', quick: false,
    desc: 'fio random read 4 KiB, queue depth 1' },
  { name: 'rand-read-qd16', group: 'main', kind: 'fio', fio: { rw: 'randread', bs: '4k', iodepth: 16 }, metric: 'iops', quick: true,
    desc: 'fio random read 4 KiB, queue depth 16' },
  { name: 'rand-read-c4', group: 'main', kind: 'fio', fio: { rw: 'randread', bs: '4k', iodepth: 16, numjobs: 4 }, metric: 'iops', quick: false,
    desc: 'fio random read 4 KiB, 4 jobs (connections) x queue depth 16' },
  { name: 'rand-read-qd64', group: 'main', kind: 'fio', fio: { rw: 'randread', bs: '4k', iodepth: 64 }, metric: 'iops', quick: false,
    desc: 'fio random read 4 KiB, queue depth 64' },
  { name: 'rand-write-qd16', group: 'main', kind: 'fio', fio: { rw: 'randwrite', bs: '4k', iodepth: 16 }, metric: 'iops', quick: true,
    desc: 'fio random write 4 KiB, queue depth 16' },
  { name: 'seq-write-256k', group: 'main', kind: 'fio', fio: { rw: 'write', bs: '256k', iodepth: 8 }, metric: 'mbps', quick: true,
    desc: 'fio sequential write 256 KiB, queue depth 8' },
  { name: 'rand-rw-qd32', group: 'main', kind: 'fio', fio: { rw: 'randrw', rwmixread: 70, bs: '4k', iodepth: 32 }, metric: 'iops', quick: false,
    desc: 'fio random 70% read / 30% write 4 KiB, queue depth 32 (IOPS of both)' },
  { name: 'stack-rand-rw-qd32', group: 'stack', kind: 'fio', fio: { rw: 'randrw', rwmixread: 70, bs: '4k', iodepth: 32 }, metric: 'iops', quick: true,
    desc: 'rand-rw-qd32 through --filter=reopen --filter=multi-conn' },
  { name: 'stack-seq-read-c4', group: 'stack', kind: 'copy', conns: 4, metric: 'mbps', quick: false,
    desc: 'seq-read-c4 through --filter=reopen --filter=multi-conn' },
  { name: 'mem-read-1m', group: 'memory', kind: 'fio', fio: { rw: 'randread', bs: '1m', iodepth: 16, numjobs: 4 }, metric: 'mbps', quick: true,
    desc: 'fio random read 1 MiB, 4 jobs (connections) x queue depth 16: 64 MiB in flight' },
  { name: 'mem-write-1m', group: 'memory', kind: 'fio', fio: { rw: 'randwrite', bs: '1m', iodepth: 16, numjobs: 4 }, metric: 'mbps', quick: true,
    desc: 'fio random write 1 MiB, 4 jobs (connections) x queue depth 16: 64 MiB in flight' },
];

export const UNITS = { iops: 'IOPS', mbps: 'MB/s' };

export function writes(w) {
  return w.kind === 'fio' && /write|rw/.test(w.fio.rw);
}

/** Selects workloads by --quick and -w (names or group names). */
export function selectWorkloads(quick, only) {
  if (only === undefined) return WORKLOADS.filter((w) => w.quick || !quick);
  const names = only.split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Set([...WORKLOADS.map((w) => w.name), ...WORKLOADS.map((w) => w.group)]);
  const bad = names.filter((n) => !known.has(n));
  if (bad.length > 0) throw new Error(`--workloads: unknown workload ${bad.join(', ')} (see --list)`);
  return WORKLOADS.filter((w) => names.includes(w.name) || names.includes(w.group));
}

/** Client argv for one run. */
export function clientArgv(w, uri, { runtime, ramp, fioOut }) {
  if (w.kind === 'copy') {
    return ['nbdcopy', '--no-extents', '-C', String(w.conns), '-T', String(w.conns), '--requests=64',
      '--request-size=1048576', '--queue-size=16777216', uri, 'null:'];
  }
  const f = w.fio;
  const argv = ['fio', `--name=${w.name}`, '--ioengine=nbd', `--uri=${uri}`, `--rw=${f.rw}`, `--bs=${f.bs}`,
    `--iodepth=${f.iodepth}`, `--numjobs=${f.numjobs ?? 1}`, '--group_reporting=1', '--time_based=1',
    `--runtime=${Math.round(runtime * 1000)}ms`, `--ramp_time=${Math.round(ramp * 1000)}ms`, '--norandommap=1',
    '--randrepeat=0', '--lat_percentiles=1', '--clat_percentiles=0', '--percentile_list=50:99',
    '--output-format=json', `--output=${fioOut}`];
  if (f.rwmixread !== undefined) argv.push(`--rwmixread=${f.rwmixread}`);
  return argv;
}

/**
 * Client runs that warm a freshly started server up before anything is
 * measured (JIT compilation of the small- and the large-request paths):
 * random 4 KiB reads and writes, then sequential 1 MiB reads and writes.
 * With `fill`, a disk in memory is first written whole with 1 MiB writes, so
 * that reads find data there as they do in an image.
 */
export function warmupArgvs(uri, seconds, fioOut, fill = false) {
  const fio = (name, rw, bs, iodepth, s) => ['fio', `--name=${name}`, '--ioengine=nbd', `--uri=${uri}`, `--rw=${rw}`, `--bs=${bs}`,
    `--iodepth=${iodepth}`, ...(s === undefined ? [] : ['--time_based=1', `--runtime=${Math.round(s * 1000)}ms`]), '--norandommap=1',
    '--output-format=json', `--output=${fioOut}`];
  return [...(fill ? [fio('fill', 'write', '1m', 8)] : []), fio('warmup-4k', 'randrw', '4k', 16, seconds), fio('warmup-1m', 'rw', '1m', 8, seconds / 2)];
}

/**
 * Metrics from fio's JSON output: IOPS and MB/s of reads and writes together,
 * latency, fio's CPU, the number of requests and when the measured time ended.
 */
export function fioMetrics(path, numjobs = 1) {
  const report = JSON.parse(readFileSync(path, 'utf8'));
  const job = report.jobs[0];
  if (job.error) throw new Error(`fio error ${job.error}`);
  let iops = 0;
  let ios = 0;
  let bytesPerSec = 0;
  const lat = {};
  for (const dir of ['read', 'write']) {
    const r = job[dir];
    if (!r || r.total_ios === 0) continue;
    iops += r.iops;
    ios += r.total_ios;
    bytesPerSec += r.bw_bytes;
    const pct = r.lat_ns?.percentile ?? {};
    if (lat.p50_us === undefined && pct['50.000000'] !== undefined) {
      lat.p50_us = pct['50.000000'] / 1000;
      lat.p99_us = pct['99.000000'] / 1000;
    }
  }
  return {
    iops, mbps: bytesPerSec / 1e6, ...lat, client_cpu_pct: job.usr_cpu + job.sys_cpu,
    // With group_reporting, job_runtime is the sum over the jobs, which ran at the same time.
    ops: ios, end_ms: report.timestamp_ms, runtime_ms: job.job_runtime / numjobs,
  };
}
