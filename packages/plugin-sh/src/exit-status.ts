import { nbdError } from '@nbdkit-ts/core';
import type { ScriptRun } from './run-script.js';

/** How a script's method ended, when it did not fail: 0, 2 or 3. */
export type Outcome = 'ok' | 'missing' | 'false';

/**
 * The errno names a script may print first on stderr, as nbdkit's sh plugin
 * knows them: those the NBD protocol carries and those the server treats
 * specially. Any other name, or none, means EIO.
 */
const KNOWN_ERRNOS = ['EPERM', 'EIO', 'ENOMEM', 'EINVAL', 'ENOSPC', 'EOVERFLOW', 'ESHUTDOWN', 'ENOTSUP', 'EOPNOTSUPP', 'EROFS', 'EDQUOT', 'EFBIG'];

/**
 * Reads a script's exit status: 0 ok, 2 missing, 3 false; 1 and any other
 * status an error, thrown with the errno name the script printed first on
 * stderr (any case, then whitespace or the end) and the first line of the
 * rest as the message.
 */
export function outcome(script: string, run: ScriptRun): Outcome {
  switch (run.status) {
    case 0:
      return 'ok';
    case 2:
      return 'missing';
    case 3:
      return 'false';
  }
  throw scriptError(script, run.stderr);
}

function scriptError(script: string, stderr: string): Error {
  const text = stderr.replace(/\n+$/, '');
  const m = /^([A-Za-z]+)(?:\s+|$)/.exec(text);
  const name = m?.[1]?.toUpperCase();
  const known = name !== undefined && KNOWN_ERRNOS.includes(name);
  const rest = known ? text.slice(m?.[0].length ?? 0) : text;
  const firstLine = rest.split('\n', 1)[0] ?? '';
  const message = text === '' ? 'script exited with error, but did not print an error message on stderr' : firstLine || (name ?? '');
  return nbdError(known ? name : 'EIO', `${script}: ${message}`);
}
