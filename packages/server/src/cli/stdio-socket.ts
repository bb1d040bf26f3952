import { fstatSync, type Stats } from 'node:fs';
import { Socket } from 'node:net';
import { PipePairSocket } from './pipe-pair-socket.js';
import { UsageError } from './args.js';

/**
 * What the client's connection for `-s` is made of: one socket on both
 * standard input and output (inetd, systemd's `Accept=yes`, libnbd's
 * connect_command, socat's `exec:`: a socketpair), or two streams (pipes).
 */
export type Stdio = 'one-socket' | 'two-streams';

/**
 * Checks that standard input and output are a connection, before any layer
 * is loaded or configured; throws, saying what they are instead, when either
 * is neither a socket nor a pipe.
 */
export function checkStdio(): Stdio {
  const input = streamStats(0, 'standard input');
  const output = streamStats(1, 'standard output');
  return input.isSocket() && input.dev === output.dev && input.ino === output.ino ? 'one-socket' : 'two-streams';
}

/** The connection {@link checkStdio} found, as one net.Socket: the socket itself, or a {@link PipePairSocket}. */
export function stdioSocket(stdio: Stdio): Socket {
  if (stdio === 'one-socket') return new Socket({ fd: 0, readable: true, writable: true });
  return new PipePairSocket(new Socket({ fd: 0, readable: true, writable: false }), new Socket({ fd: 1, readable: false, writable: true }));
}

function streamStats(fd: number, name: string): Stats {
  let stats: Stats;
  try {
    stats = fstatSync(fd);
  } catch {
    throw new UsageError(`-s: ${name} is closed; it must be the client's connection (a socket or a pipe)`);
  }
  if (stats.isSocket() || stats.isFIFO()) return stats;
  const what = stats.isCharacterDevice() ? 'a terminal or a device' : stats.isFile() ? 'a file' : 'not a stream';
  throw new UsageError(`-s: ${name} is ${what}; it must be the client's connection (a socket or a pipe)`);
}
