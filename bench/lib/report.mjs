// Medians, paired ratios and the tables printed at the end of a run (Markdown).
import { PAIRS } from './servers.mjs';
import { UNITS, WORKLOADS } from './workloads.mjs';

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const h = v.length >> 1;
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

function fmt(x, digits) {
  if (x === undefined || !Number.isFinite(x)) return '-';
  if (digits !== undefined) return x.toFixed(digits);
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function table(header, rows) {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

/** Per-workload, per-server medians and the paired ratios, from the run records. */
export function summarise(runs, rssLimitMiB) {
  const out = [];
  for (const w of WORKLOADS) {
    const mine = runs.filter((r) => r.workload === w.name);
    if (mine.length === 0) continue;
    const [cand, ref] = PAIRS[w.group];
    const stats = {};
    for (const s of [cand, ref]) {
      const rs = mine.filter((r) => r.server === s);
      const ok = rs.filter((r) => r.ok);
      const vals = ok.map((r) => r[w.metric]);
      stats[s] = {
        n: ok.length,
        failed: rs.length - ok.length,
        median: median(vals),
        min: vals.length ? Math.min(...vals) : undefined,
        max: vals.length ? Math.max(...vals) : undefined,
        p50_us: median(ok.map((r) => r.p50_us)),
        srv_cpu_pct: median(ok.map((r) => r.srv_cpu_pct)),
        srv_cpu_us_per_op: median(ok.map((r) => r.srv_cpu_us_per_op)),
        srv_user_us_per_op: median(ok.map((r) => r.srv_user_us_per_op)),
        srv_sys_us_per_op: median(ok.map((r) => r.srv_sys_us_per_op)),
        srv_minflt_per_op: median(ok.map((r) => r.srv_minflt_per_op)),
        srv_disk_read_mib: median(ok.map((r) => r.srv_disk_read_mib)),
        client_cpu_pct: median(ok.map((r) => r.client_cpu_pct)),
        peak_rss_mib: ok.length ? Math.max(...ok.map((r) => r.peak_rss_mib)) : undefined,
        rss_before_mib: ok.length ? Math.max(...ok.map((r) => r.rss_before_mib)) : undefined,
      };
    }
    // Ratios of runs adjacent in time: the same round.
    const ratios = [];
    for (const a of mine.filter((r) => r.server === cand && r.ok)) {
      const b = mine.find((r) => r.server === ref && r.ok && r.round === a.round);
      if (b !== undefined && b[w.metric] > 0) ratios.push(a[w.metric] / b[w.metric]);
    }
    const s = { workload: w.name, group: w.group, metric: w.metric, candidate: cand, reference: ref, stats,
      ratio: median(ratios), ratio_min: ratios.length ? Math.min(...ratios) : undefined,
      ratio_max: ratios.length ? Math.max(...ratios) : undefined, pairs: ratios.length };
    if (w.group === 'memory') s.rss_pass = stats[cand].peak_rss_mib !== undefined && stats[cand].peak_rss_mib < rssLimitMiB;
    out.push(s);
  }
  return out;
}

function cell(st, metric) {
  if (st.n === 0) return st.failed ? 'FAILED' : '-';
  const range = st.n > 1 ? ` [${fmt(st.min, metric === 'iops' ? 0 : undefined)}-${fmt(st.max, metric === 'iops' ? 0 : undefined)}]` : '';
  return `${fmt(st.median, metric === 'iops' ? 0 : undefined)}${range}${st.failed ? ` (${st.failed} failed)` : ''}`;
}

function ratioCell(s) {
  if (s.ratio === undefined) return '-';
  return s.pairs > 1 ? `**${fmt(s.ratio, 2)}** [${fmt(s.ratio_min, 2)}-${fmt(s.ratio_max, 2)}]` : `**${fmt(s.ratio, 2)}**`;
}

/** The Markdown tables of a summary. */
export function formatTables(summary, rssLimitMiB) {
  const parts = [];
  const groups = [
    ['main', `${PAIRS.main[0]} against ${PAIRS.main[1] === 'nbdkit' ? 'nbdkit (C)' : PAIRS.main[1]}: medians [min-max] over rounds; ratio = ${PAIRS.main[0]} / ${PAIRS.main[1]} per round, median [min-max]`],
    ['stack', 'filter stack: nbdkit-ts --filter=reopen --filter=multi-conn file against nbdkit-ts file'],
    ['memory', `memory: peak RSS with 64 requests of 1 MiB in flight on 4 connections (limit for nbdkit-ts: ${rssLimitMiB} MiB)`],
  ];
  for (const [group, title] of groups) {
    const rows = summary.filter((s) => s.group === group);
    if (rows.length === 0) continue;
    const [cand, ref] = PAIRS[group];
    parts.push(`${title}\n`);
    if (group === 'memory') {
      parts.push(table(['workload', 'unit', cand, ref, `${cand} RSS MiB before / peak`, `${ref} RSS MiB before / peak`, 'check'],
        rows.map((s) => [s.workload, UNITS[s.metric], cell(s.stats[cand], s.metric), cell(s.stats[ref], s.metric),
          `${fmt(s.stats[cand].rss_before_mib, 0)} / ${fmt(s.stats[cand].peak_rss_mib, 0)}`,
          `${fmt(s.stats[ref].rss_before_mib, 0)} / ${fmt(s.stats[ref].peak_rss_mib, 0)}`, s.rss_pass ? 'PASS' : 'FAIL'])));
      continue;
    }
    parts.push(table(['workload', 'unit', cand, ref, 'ratio'],
      rows.map((s) => [s.workload, UNITS[s.metric], cell(s.stats[cand], s.metric), cell(s.stats[ref], s.metric), ratioCell(s)])));
    parts.push('');
    const pair = (key, digits) => (s) => `${fmt(s.stats[cand][key], digits)} / ${fmt(s.stats[ref][key], digits)}`;
    const columns = [
      ['server CPU %', pair('srv_cpu_pct', 0)],
      ['CPU us/op', pair('srv_cpu_us_per_op')],
      ['user us/op', pair('srv_user_us_per_op')],
      ['kernel us/op', pair('srv_sys_us_per_op')],
      ['p50 us', pair('p50_us')],
      ['minor faults/op', pair('srv_minflt_per_op')],
      ['MiB read from disk', pair('srv_disk_read_mib', 1)],
      ['client CPU %', pair('client_cpu_pct', 0)],
      ['peak RSS MiB', pair('peak_rss_mib', 0)],
    ];
    parts.push(`${cand} / ${ref}:\n`);
    parts.push(table(['workload', ...columns.map((c) => c[0])], rows.map((s) => [s.workload, ...columns.map((c) => c[1](s))])));
    parts.push('');
  }
  parts.push('Server counters are of the server process (all threads) over the measured interval, from /proc/PID/stat and');
  parts.push('/proc/PID/io: CPU % (100 = one core), CPU time per request and its user and kernel parts, minor page faults per request');
  parts.push('(per 1 MiB request for nbdcopy), bytes read from storage (page-cache misses). p50 and client CPU % are fio\'s.');
  return parts.join('\n');
}
