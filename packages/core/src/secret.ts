import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { errorMessage } from './errors.js';

/**
 * Reads a secret (a password, a key) given as a parameter the way nbdkit's
 * plugins take one, so that it need not appear on the command line:
 *
 * - `-`: asked for on the terminal (standard input must be one), without echo;
 * - `-FD`: the first line read from file descriptor FD (3 or more), which is then closed;
 * - `+FILE`: the first line of FILE;
 * - anything else: the value itself.
 *
 * A line ends at a newline, which is not part of the secret; an empty file
 * gives an empty secret. Throws an error naming the key otherwise.
 */
export function readSecret(key: string, value: string): string {
  if (value === '-') return askOnTerminal(key);
  if (value.startsWith('-')) {
    if (!/^-\d+$/.test(value)) throw new Error(`${key}=${value}: expected -FD, with FD a file descriptor number, or - to be asked`);
    const fd = Number(value.slice(1));
    if (fd <= 2) throw new Error(`${key}=${value}: cannot read a secret from standard input, output or error (use ${key}=- to be asked)`);
    return firstLine(key, value, fd);
  }
  if (value.startsWith('+')) {
    let fd: number;
    try {
      fd = openSync(value.slice(1), 'r');
    } catch (e) {
      throw new Error(`${key}=${value}: ${errorMessage(e)}`, { cause: e });
    }
    return firstLine(key, value, fd);
  }
  return value;
}

/** The first line read from `fd`, without its newline; closes `fd`. */
function firstLine(key: string, value: string, fd: number): string {
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const end = chunk.subarray(0, n).indexOf(0x0a);
      chunks.push(Buffer.from(chunk.subarray(0, end < 0 ? n : end)));
      if (end >= 0) break;
    }
  } catch (e) {
    throw new Error(`${key}=${value}: ${errorMessage(e)}`, { cause: e });
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Asks for the secret on the terminal, with echo off while it is typed.
 * node:tty and node:child_process are loaded only here: every server imports
 * this module, and they would add to its start-up.
 */
function askOnTerminal(key: string): string {
  const load = createRequire(import.meta.url);
  const { isatty } = load('node:tty') as typeof import('node:tty');
  const { spawnSync } = load('node:child_process') as typeof import('node:child_process');
  if (!isatty(0)) throw new Error(`${key}=-: standard input is not a terminal, cannot ask for the secret`);
  const stty = (setting: string) => spawnSync('stty', [setting], { stdio: ['inherit', 'ignore', 'ignore'] });
  stty('-echo');
  writeSync(1, 'password: ');
  try {
    const line: number[] = [];
    const byte = Buffer.alloc(1);
    while (readSync(0, byte, 0, 1, null) === 1 && byte[0] !== 0x0a) line.push(byte[0] as number);
    return Buffer.from(line).toString('utf8');
  } finally {
    stty('echo');
    writeSync(1, '\n');
  }
}
