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

/** What statuses 4 to 8 ask of the server. */
export interface ServerControl {
  /** Shut the server down (statuses 4 and 5). */
  shutdown(): void;
  /** End the connection: at once (6), or refusing later requests (7 and 8). */
  disconnect(force: boolean): void;
}

/** The highest status with a meaning, for `--dump-plugin` (`max_known_status=`). */
export const MAX_KNOWN_STATUS = 8;

/**
 * Reads a script's exit status as nbdkit does: 0 ok, 2 missing, 3 false; 4
 * shut the server down and succeed, 5 shut it down and fail (ESHUTDOWN unless
 * stderr names another error); 6 drop the connection (the client sees no
 * reply); 7 and 8 refuse the connection's later requests, then succeed or
 * fail (ESHUTDOWN by default). 1 and any other status is an error, thrown
 * with the errno name the script printed first on stderr (any case, then
 * whitespace or the end) and the first line of the rest as the message.
 */
export function outcome(script: string, run: ScriptRun, control: ServerControl): Outcome {
  switch (run.status) {
    case 0:
      return 'ok';
    case 2:
      return 'missing';
    case 3:
      return 'false';
    case 4:
      control.shutdown();
      return 'ok';
    case 5:
      control.shutdown();
      throw scriptError(script, run.stderr, 'ESHUTDOWN');
    case 6:
      control.disconnect(true);
      return 'missing';
    case 7:
      control.disconnect(false);
      return 'ok';
    case 8:
      control.disconnect(false);
      throw scriptError(script, run.stderr, 'ESHUTDOWN');
  }
  throw scriptError(script, run.stderr, 'EIO');
}

function scriptError(script: string, stderr: string, otherwise: string): Error {
  const text = stderr.replace(/\n+$/, '');
  const m = /^([A-Za-z]+)(?:\s+|$)/.exec(text);
  const name = m?.[1]?.toUpperCase();
  const known = name !== undefined && KNOWN_ERRNOS.includes(name);
  const rest = known ? text.slice(m?.[0].length ?? 0) : text;
  const firstLine = rest.split('\n', 1)[0] ?? '';
  const message = text === '' ? 'script exited with error, but did not print an error message on stderr' : firstLine || (name ?? '');
  return nbdError(known ? name : otherwise, `${script}: ${message}`);
}
