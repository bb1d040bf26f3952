import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { errorMessage } from '@nbdkit-ts/core';

/** Output of a script without a slice is kept up to this size. */
const SCRIPT_OUTPUT_LIMIT = 1024 * 1024 * 1024;

/**
 * The bytes of `<FILE`: the whole file, or only its first `limit` bytes
 * (so that `</dev/urandom[:512]` ends). Throws an Error with the reason.
 */
export function readFileBytes(path: string, limit: number | undefined): Uint8Array {
  if (limit === undefined) return readFileSync(path);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(limit);
    let done = 0;
    while (done < limit) {
      const n = readSync(fd, buf, done, limit - done, null);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/**
 * The output of `<(SCRIPT)`, run by /bin/sh: all of it, or its first
 * `limit` bytes, after which the script is stopped (so that an endless one
 * ends). Throws an Error when the script fails.
 */
export function scriptOutput(script: string, limit: number | undefined): Uint8Array {
  const r = spawnSync('/bin/sh', ['-c', script], { maxBuffer: limit ?? SCRIPT_OUTPUT_LIMIT, stdio: ['ignore', 'pipe', 'pipe'] });
  const stopped = r.error !== undefined && 'code' in r.error && r.error.code === 'ENOBUFS';
  if (stopped && limit === undefined) throw new Error(`the script wrote more than ${SCRIPT_OUTPUT_LIMIT} bytes; take a slice of it, <(...)[:N]`);
  if (r.error !== undefined && !stopped) throw new Error(`cannot run the script: ${errorMessage(r.error)}`);
  if (!stopped && r.status !== 0) {
    const said = r.stderr.toString().trim();
    throw new Error(`the script failed (${r.status === null ? `signal ${r.signal}` : `exit status ${r.status}`})${said === '' ? '' : `: ${said}`}`);
  }
  return limit === undefined ? r.stdout : r.stdout.subarray(0, limit);
}
