#!/usr/bin/env node
// Summarises a V8 .cpuprofile (written by node --cpu-prof): where the time went,
// by function (self and inclusive) and by package.
//   node bench/lib/cpuprofile.mjs FILE.cpuprofile [--top N] [--window FROM_US,TO_US]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SPECIAL = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

function where(frame) {
  const url = frame.url ?? '';
  const pkg = /\/packages\/([^/]+)\//.exec(url);
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/packages\//, '');
  return { pkg: pkg?.[1], file };
}

/** The package or part of the runtime a frame belongs to. */
export function moduleOf(frame) {
  const name = frame.functionName;
  if (SPECIAL.has(name)) return name;
  const url = frame.url ?? '';
  if (url.startsWith('node:')) return 'node internals';
  const { pkg } = where(frame);
  if (pkg !== undefined) return pkg;
  if (url === '') return 'native (V8 builtins, bindings)';
  return 'other';
}

function label(frame) {
  const name = frame.functionName || '(anonymous)';
  if (SPECIAL.has(name) || !frame.url) return name;
  return `${name} ${where(frame).file}:${frame.lineNumber + 1}`;
}

/**
 * Reads a profile and returns { totalMs, busyMs, self: [{fn, module, ms, pct}],
 * inclusive: [...], modules: [...] }; pct is of the busy (non-idle) time.
 * With window [from, to] (microseconds, the profile's monotonic clock) only the
 * samples taken in it count: the measured part of a run, without start-up.
 */
export function summarise(path, top = 15, window = undefined) {
  const prof = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample i lasts until sample i+1 (as Chrome DevTools counts it).
  const { samples, timeDeltas } = prof;
  const stamps = [];
  let t = prof.startTime;
  for (const d of timeDeltas) stamps.push((t += d));
  const dur = samples.map((_, i) => ((i + 1 < stamps.length ? stamps[i + 1] : prof.endTime) - stamps[i]) / 1000);

  const self = new Map();
  const incl = new Map();
  const modules = new Map();
  let totalMs = 0;
  let idleMs = 0;
  samples.forEach((id, i) => {
    if (window !== undefined && (stamps[i] < window[0] || stamps[i] > window[1])) return;
    const ms = Math.max(0, dur[i]);
    totalMs += ms;
    const node = byId.get(id);
    const f = node.callFrame;
    if (f.functionName === '(idle)') {
      idleMs += ms;
      return;
    }
    const key = label(f);
    const s = self.get(key) ?? { fn: key, module: moduleOf(f), ms: 0 };
    s.ms += ms;
    self.set(key, s);
    modules.set(moduleOf(f), (modules.get(moduleOf(f)) ?? 0) + ms);
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const fr = byId.get(n).callFrame;
      const k = label(fr);
      if (seen.has(k) || SPECIAL.has(fr.functionName)) continue;
      seen.add(k);
      const e = incl.get(k) ?? { fn: k, module: moduleOf(fr), ms: 0 };
      e.ms += ms;
      incl.set(k, e);
    }
  });
  const busyMs = totalMs - idleMs;
  const rank = (m) => [...m.values()].sort((a, b) => b.ms - a.ms).map((e) => ({ ...e, pct: (100 * e.ms) / busyMs }));
  return {
    totalMs,
    busyMs,
    self: rank(self).slice(0, top),
    // Inclusive time of this repository's functions: which server or plugin step holds the time.
    inclusive: rank(incl).filter((e) => !['node internals', 'native (V8 builtins, bindings)', 'other'].includes(e.module)).slice(0, top),
    modules: [...modules.entries()].map(([module, ms]) => ({ module, ms, pct: (100 * ms) / busyMs })).sort((a, b) => b.ms - a.ms),
  };
}

/** Text lines of a summary. */
export function formatSummary(s) {
  const lines = [`busy ${s.busyMs.toFixed(0)} ms of ${s.totalMs.toFixed(0)} ms profiled (${((100 * s.busyMs) / s.totalMs).toFixed(0)}%); percentages are of busy time`];
  lines.push('  by package: ' + s.modules.map((m) => `${m.module} ${m.pct.toFixed(1)}%`).join(', '));
  lines.push('  top self time:');
  for (const e of s.self) lines.push(`    ${e.pct.toFixed(1).padStart(5)}%  ${e.fn}`);
  lines.push('  top inclusive time (this repository):');
  for (const e of s.inclusive) lines.push(`    ${e.pct.toFixed(1).padStart(5)}%  ${e.fn}`);
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const top = Number(option('--top') ?? 15);
  const windowText = option('--window');
  const window = windowText?.split(',').map(Number);
  if (args.length === 0 || !Number.isInteger(top) || top <= 0 || (window !== undefined && (window.length !== 2 || !window.every(Number.isFinite)))) {
    console.error('usage: node bench/lib/cpuprofile.mjs FILE.cpuprofile... [--top N] [--window FROM_US,TO_US]');
    process.exit(2);
  }
  for (const f of args) {
    console.log(f);
    for (const l of formatSummary(summarise(f, top, window))) console.log(l);
  }
}
