// CPU profiles with Linux perf: samples taken only while the server runs on a
// CPU (kernel and user space), so a loaded machine does not distort them the
// way it distorts V8's wall-clock samples. nbdkit-ts runs with
// --perf-basic-prof so that perf can name JavaScript functions.
import { spawn, spawnSync } from 'node:child_process';

export function perfAvailable() {
  return spawnSync('perf', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Starts `perf record` on a process; stop() ends it (SIGINT) and resolves once the data is written. */
export function record(pid, out) {
  const child = spawn('perf', ['record', '-F', '1999', '-p', String(pid), '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b) => (err = (err + b.toString()).slice(-2000)));
  const done = new Promise((resolve) => child.on('close', (code) => resolve({ code, err })));
  return {
    stop: () => {
      child.kill('SIGINT');
      return done;
    },
  };
}

/** What a symbol is: kernel, JavaScript (JIT), V8 builtin, or other native code (node, V8, libc). */
function kind(sym) {
  if (sym.startsWith('[k] ')) return 'kernel';
  const name = sym.slice(4);
  if (name.startsWith('JS:') || name.startsWith('LazyCompile:')) return 'JavaScript';
  if (name.startsWith('Builtins_') || name.startsWith('Builtin:')) return 'V8 builtins';
  return 'native (node, V8, libc)';
}

/** Self time by symbol and by kind, in % of the samples: { samples, top: [{pct, sym}], kinds: [{kind, pct}] }. */
export function report(file, top = 15) {
  const r = spawnSync('perf', ['report', '-i', file, '--stdio', '--no-children', '--sort', 'sym', '--percent-limit', '0'], {
    encoding: 'utf8', maxBuffer: 64 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`perf report: ${r.stderr.trim().split('\n').at(-1)}`);
  const count = /# Samples: ([\d.]+)([KM]?)/.exec(r.stdout);
  const samples = count === null ? 0 : Math.round(Number(count[1]) * { '': 1, K: 1e3, M: 1e6 }[count[2]]);
  const rows = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s+([\d.]+)%\s+(\[[k.]\] .*?)\s*$/.exec(line);
    if (m !== null) rows.push({ pct: Number(m[1]), sym: m[2].replace(/ file:\/\/\S*\/packages\//, ' ') });
  }
  const kinds = new Map();
  for (const row of rows) kinds.set(kind(row.sym), (kinds.get(kind(row.sym)) ?? 0) + row.pct);
  return {
    samples,
    top: rows.slice(0, top),
    kinds: [...kinds.entries()].map(([k, pct]) => ({ kind: k, pct })).sort((a, b) => b.pct - a.pct),
  };
}

export function formatReport(r) {
  const lines = [`about ${r.samples} perf samples (on-CPU time of all threads); by kind: ${r.kinds.map((k) => `${k.kind} ${k.pct.toFixed(1)}%`).join(', ')}`];
  lines.push('  top self time:');
  for (const e of r.top) lines.push(`    ${e.pct.toFixed(1).padStart(5)}%  ${e.sym}`);
  return lines;
}
