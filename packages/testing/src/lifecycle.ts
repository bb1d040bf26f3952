import { readdirSync, readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { startServer, type ServerProcess, type StartOptions } from './server-process.js';
import { Command, WireClient } from './wire-client.js';

/** The ways a client can leave a server, each of which must leave nothing behind. */
export const LEAVE_WAYS = ['disconnect', 'read-in-flight', 'write-cut-short', 'mid-handshake', 'half-close', 'tls-aborted'] as const;

/**
 * How a client leaves: `disconnect` reads, sends NBD_CMD_DISC and shuts its
 * side; `read-in-flight` closes with a read unanswered; `write-cut-short`
 * closes in the middle of a write's payload; `mid-handshake` closes in the
 * middle of an option; `half-close` shuts its side after a read, without
 * NBD_CMD_DISC; `tls-aborted` drops the socket in the middle of the TLS
 * handshake (needs a server with `--tls=on`).
 */
export type LeaveWay = (typeof LEAVE_WAYS)[number];

/** Options of {@link checkLifecycle}. */
export interface LifecycleOptions {
  /** Clients per way (default 100). */
  readonly clients?: number;
  /** The ways to leave (default: all but `tls-aborted` unless `args` has `--tls=on`). */
  readonly ways?: readonly LeaveWay[];
  /** Clients at once (default 16). */
  readonly parallel?: number;
  /** Extra RSS the churn may leave, in bytes (default 32 MiB). */
  readonly rssSlack?: number;
  /** Extra descriptors the churn may leave (default 2). */
  readonly descriptorSlack?: number;
  /** How to start the server. */
  readonly start?: StartOptions;
}

/** What {@link checkLifecycle} measured, before and after the churn. */
export interface LifecycleReport {
  /** Clients sent in all: one of each way, then `clients` of each way. */
  readonly connections: number;
  /** Descriptors the server had open. */
  readonly descriptors: {
    /** Before the churn. */
    readonly before: number;
    /** After it. */
    readonly after: number;
  };
  /** Resident memory of the server, in bytes. */
  readonly rss: {
    /** Before the churn. */
    readonly before: number;
    /** After it. */
    readonly after: number;
  };
  /** Contexts open per layer, as the server last logged them (`file 0, reopen 0`). */
  readonly contexts: {
    /** Before the churn. */
    readonly before: string;
    /** After it. */
    readonly after: string;
  };
}

/** One client leaving `server` in the way `way`. */
export async function leave(server: ServerProcess, way: LeaveWay): Promise<void> {
  const c = await WireClient.connect(server.socket);
  try {
    switch (way) {
      case 'disconnect':
        await c.open();
        c.request(Command.READ, 1n, 0n, 512);
        await c.reply(512);
        // As libnbd does: NBD_CMD_DISC, then shut our side at once.
        c.request(Command.DISC, 2n, 0n, 0);
        c.socket.end();
        await c.endedByServer();
        break;
      case 'read-in-flight':
        await c.open();
        c.request(Command.READ, 1n, 0n, 65536);
        break;
      case 'write-cut-short':
        await c.open();
        c.request(Command.WRITE, 1n, 0n, 65536, new Uint8Array(1000));
        break;
      case 'mid-handshake':
        await c.greet();
        c.write(Buffer.from('IHAVEOPT\0\0'));
        break;
      case 'half-close':
        await c.open();
        c.request(Command.READ, 1n, 0n, 512);
        await c.reply(512);
        c.socket.end();
        await c.endedByServer();
        break;
      case 'tls-aborted': {
        await c.greet();
        await c.askTls();
        const secure = tlsConnect({ socket: c.socket, rejectUnauthorized: false });
        secure.on('error', () => {});
        // The ClientHello is on its way; drop the socket before the handshake can end.
        await new Promise((resolve) => setImmediate(resolve));
        secure.destroy();
        break;
      }
    }
  } finally {
    c.destroy();
  }
}

/** Descriptors the process `pid` has open. */
function descriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident memory of the process `pid`, in bytes. */
function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

const CLOSED = /connection (\d+): closed \([^)]*\); contexts open: (.*)$/gm;

/** Connections the server has logged as closed (with -v), and its census after the last. */
function closedSoFar(server: ServerProcess): { count: number; census: string } {
  let count = 0;
  let census = '';
  for (const m of server.stderr().matchAll(CLOSED)) {
    count++;
    census = m[2] ?? '';
  }
  return { count, census };
}

async function closedAll(server: ServerProcess, connections: number, timeout = 30_000): Promise<string> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const { count, census } = closedSoFar(server);
    if (count >= connections) return census;
    if (Date.now() > deadline) throw new Error(`${connections - count} of ${connections} connections still not closed after ${timeout / 1000} s:\n${server.stderr().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The lifecycle check of a stack: starts `nbdkit-ts -v ARGS...`, lets one
 * client of each way through, notes the server's descriptors, resident
 * memory and open contexts per layer, sends `clients` clients leaving in
 * each way, and checks that, once the server has closed them all,
 * descriptors and contexts are back where they were (RSS within
 * `rssSlack`), that a new client is served, and that the server shuts down
 * cleanly (exit 0, no context left open, no error logged). Throws, with what differs, when
 * one does not hold.
 */
export async function checkLifecycle(args: readonly string[], options: LifecycleOptions = {}): Promise<LifecycleReport> {
  const tls = args.some((a) => a === '--tls=on' || a === '--tls');
  const ways = options.ways ?? LEAVE_WAYS.filter((w) => tls || w !== 'tls-aborted');
  const clients = options.clients ?? 100;
  const parallel = options.parallel ?? 16;
  const server = await startServer(['-v', ...args], options.start);
  const pid = server.child.pid as number;
  let connections = 0;
  const churn = async (n: number) => {
    const queue = ways.flatMap((w) => Array.from({ length: n }, () => w));
    connections += queue.length;
    const worker = async () => {
      for (let way = queue.pop(); way !== undefined; way = queue.pop()) await leave(server, way);
    };
    await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker));
    return closedAll(server, connections);
  };
  try {
    const censusBefore = await churn(1);
    const before = { descriptors: descriptors(pid), rss: rss(pid) };
    const censusAfter = await churn(clients);
    const report: LifecycleReport = {
      connections,
      descriptors: { before: before.descriptors, after: descriptors(pid) },
      rss: { before: before.rss, after: rss(pid) },
      contexts: { before: censusBefore, after: censusAfter },
    };
    const wrong: string[] = [];
    if (report.descriptors.after > report.descriptors.before + (options.descriptorSlack ?? 2)) wrong.push(`descriptors: ${report.descriptors.before} before, ${report.descriptors.after} after`);
    if (report.rss.after > report.rss.before + (options.rssSlack ?? 32 * 1024 * 1024)) wrong.push(`RSS: ${report.rss.before} bytes before, ${report.rss.after} after`);
    if (censusAfter !== censusBefore) wrong.push(`contexts open: "${censusBefore}" before, "${censusAfter}" after`);
    const served = await WireClient.connect(server.socket);
    try {
      await served.open();
      served.request(Command.READ, 1n, 0n, 512);
      if ((await served.reply(512)).error !== 0) wrong.push('a new client\'s read failed');
    } finally {
      served.destroy();
    }
    const status = await server.stop();
    if (status !== 0) wrong.push(`the server exited with ${status}`);
    const leftover = /contexts still open after cleanup.*$/m.exec(server.stderr());
    if (leftover !== null) wrong.push(leftover[0]);
    const errors = server.stderr().match(/^.*: error: .*$/gm);
    if (errors !== null) wrong.push(`errors logged: ${errors.slice(0, 5).join(' | ')}`);
    if (wrong.length > 0) throw new Error(`after ${connections} clients (${ways.join(', ')}): ${wrong.join('; ')}`);
    return report;
  } finally {
    await server.stop();
  }
}
