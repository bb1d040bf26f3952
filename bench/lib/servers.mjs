// Starting and stopping the servers, and reading their CPU time and peak RSS from /proc.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO, 'packages', 'server', 'dist', 'cli', 'main.js');
export const STACK_FILTERS = ['--filter=reopen', '--filter=multi-conn'];

/**
 * The servers compared, serving the same plugin. argv(plugin, sock, nodeArgs)
 * is the command: plugin is the plugin and its parameters (see PLUGINS),
 * nodeArgs extra node options (the CPU profiler) for the nbdkit-ts servers.
 */
export const SERVERS = {
  'nbdkit': {
    desc: 'nbdkit (C)',
    argv: (plugin, sock) => ['nbdkit', '-U', sock, '-f', ...plugin],
  },
  'nbdkit-ts': {
    desc: 'nbdkit-ts',
    argv: (plugin, sock, nodeArgs = []) => [process.execPath, ...nodeArgs, CLI, '-U', sock, '-f', ...plugin],
  },
  'nbdkit-ts-stack': {
    desc: 'nbdkit-ts --filter=reopen --filter=multi-conn',
    argv: (plugin, sock, nodeArgs = []) => [process.execPath, ...nodeArgs, CLI, ...STACK_FILTERS, '-U', sock, '-f', ...plugin],
  },
};

/** The plugins a benchmark can serve (--plugin), each as [name, parameters...] for both servers. */
export const PLUGINS = {
  file: ({ img }) => ['file', `file=${img}`],
  memory: ({ size }) => ['memory', `size=${size}`],
};

/** The pair of servers each group compares: [candidate, reference]. */
export const PAIRS = {
  main: ['nbdkit-ts', 'nbdkit'],
  stack: ['nbdkit-ts-stack', 'nbdkit-ts'],
  memory: ['nbdkit-ts', 'nbdkit'],
};

/**
 * Compares nbdkit-ts with another build of itself instead of nbdkit: `cli` is
 * that build's packages/server/dist/cli/main.js (a git worktree at another
 * commit, built), to measure a change on both sides of it in one run.
 */
export function useBaseline(cli) {
  SERVERS['nbdkit-ts-baseline'] = {
    desc: `nbdkit-ts of ${cli}`,
    argv: (plugin, sock, nodeArgs = []) => [process.execPath, ...nodeArgs, cli, '-U', sock, '-f', ...plugin],
  };
  PAIRS.main = ['nbdkit-ts', 'nbdkit-ts-baseline'];
  PAIRS.memory = ['nbdkit-ts', 'nbdkit-ts-baseline'];
}

/**
 * Runs every server under `taskset -c cpus` (which execs it: the pid stays
 * the server's), to measure what each does with fewer CPUs than the machine has.
 */
export function pinServers(cpus) {
  for (const s of Object.values(SERVERS)) {
    const argv = s.argv;
    s.argv = (...args) => ['taskset', '-c', cpus, ...argv(...args)];
  }
}

/** Returns undefined when the filters of the stack load, or why not. */
export function stackUnavailable() {
  const r = spawnSync(process.execPath, [CLI, '--version', ...STACK_FILTERS, 'file'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return undefined;
  return (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n')[0];
}

/** The unit of utime and stime in /proc/PID/stat. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/**
 * Counters of a process and all its threads: CPU seconds (utime + stime, utime
 * alone: time in user space, and stime alone: time in the kernel), minor page
 * faults, and bytes it caused to be read from storage (page-cache misses).
 */
export function sample(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after "(comm) ": minflt is the 8th, utime and stime the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const io = /^read_bytes:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'latin1'));
    return {
      cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK,
      user: Number(f[11]) / CLK_TCK,
      sys: Number(f[12]) / CLK_TCK,
      minflt: Number(f[7]),
      readBytes: io === null ? NaN : Number(io[1]),
    };
  } catch {
    return { cpu: NaN, user: NaN, sys: NaN, minflt: NaN, readBytes: NaN };
  }
}

/**
 * Resets VmHWM to the current RSS (writing 5 to /proc/PID/clear_refs, Linux
 * 4.0 and later), so that the next peak is that of what runs next. Returns
 * whether it could.
 */
export function resetPeakRss(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** A field in kB of /proc/PID/status (VmHWM: peak resident set size, VmRSS: current), in MiB. */
export function statusMiB(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** Connects, reads the NBD greeting, and ends the handshake politely with NBD_OPT_ABORT. */
function probe(sock) {
  return new Promise((resolve) => {
    const s = connect(sock);
    let got = Buffer.alloc(0);
    let greeted = false;
    s.setTimeout(5000, () => s.destroy());
    s.on('error', () => s.destroy());
    s.on('close', () => resolve(greeted));
    s.on('data', (b) => {
      if (greeted) return;
      got = Buffer.concat([got, b]);
      if (got.length < 18) return;
      if (got.toString('latin1', 0, 8) !== 'NBDMAGIC') return s.destroy();
      greeted = true;
      const reply = Buffer.alloc(20);
      reply.writeUInt32BE(got.readUInt16BE(16) & 3, 0); // client flags: the server's fixed-newstyle and no-zeroes
      reply.write('IHAVEOPT', 4, 'latin1');
      reply.writeUInt32BE(2, 12); // NBD_OPT_ABORT, no data
      s.end(reply);
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A running server: started with start(), stopped with stop(). */
export class RunningServer {
  constructor(child, log) {
    this.child = child;
    this.log = log;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.alive = true;
    void this.exited.then(() => (this.alive = false));
  }

  get pid() {
    return this.child.pid;
  }

  /** Stops the server with SIGTERM (SIGKILL after `graceMs`) and returns how it exited. */
  async stop(graceMs = 10_000) {
    if (this.alive) this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.alive) this.child.kill('SIGKILL');
    }, graceMs);
    const how = await this.exited;
    clearTimeout(timer);
    closeSync(this.log);
    return how;
  }
}

/** Starts a server and waits for its greeting; throws with the log's tail when it does not come. */
export async function start(argv, sock, logPath, timeoutMs = 30_000) {
  rmSync(sock, { force: true });
  const log = openSync(logPath, 'a');
  const t0 = performance.now();
  // In the work directory: files a profiled node writes there (V8 logs) stay out of the checkout.
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', log, log], cwd: dirname(logPath) });
  const server = new RunningServer(child, log);
  const deadline = t0 + timeoutMs;
  while (performance.now() < deadline) {
    if (!server.alive) break;
    if (existsSync(sock) && (await probe(sock))) {
      return { server, startupMs: performance.now() - t0 };
    }
    await sleep(10);
  }
  await server.stop();
  const tail = readFileSync(logPath, 'utf8').slice(-400).trim();
  throw new Error(`${server.alive ? 'no NBD greeting' : 'server exited during start-up'}: ${tail}`);
}

/**
 * The servers of a benchmark, each started once and kept running across runs
 * (as a server is used), on its own socket in `work`, serving `plugin`
 * ([name, parameters...]). A server that died is
 * started again by get(). `nodeArgs(name, n)` gives extra node options for
 * the n-th start of an nbdkit-ts server.
 */
export class Fleet {
  constructor(work, plugin, nodeArgs) {
    this.work = work;
    this.plugin = plugin;
    this.nodeArgs = nodeArgs;
    this.running = new Map();
    this.starts = [];
  }

  /** The running server `name`: { name, server, sock, uri, startupMs, n, fresh }. */
  async get(name) {
    const have = this.running.get(name);
    if (have !== undefined && have.server.alive) return { ...have, fresh: false };
    if (have !== undefined) await have.server.stop();
    const n = this.starts.filter((s) => s.name === name).length + 1;
    const sock = join(this.work, `${name}.sock`);
    const extra = this.nodeArgs(name, n);
    const { server, startupMs } = await start(SERVERS[name].argv(this.plugin, sock, extra), sock, join(this.work, 'log', `${name}.log`));
    const entry = { name, server, sock, uri: `nbd+unix:///?socket=${sock}`, startupMs, n };
    this.running.set(name, entry);
    this.starts.push({ name, n, startup_ms: startupMs, pid: server.pid });
    return { ...entry, fresh: true };
  }

  /** Stops every server; returns how each exited. */
  async stopAll() {
    const out = {};
    for (const [name, e] of this.running) out[name] = await e.server.stop();
    this.running.clear();
    return out;
  }
}
