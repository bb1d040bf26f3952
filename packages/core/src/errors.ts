/**
 * Errors on the data path carry an errno-style `code`, as Node's own
 * `SystemError`s do (`EIO`, `ENOSPC`, `EROFS`, ...). The server maps the code
 * to an NBD error in one table. Never test errors with `instanceof` across
 * packages: read {@link errorCode} instead.
 */

/**
 * Errno names offered for {@link nbdError} and {@link NbdkitError}; any other
 * errno-style name may be passed as well. The server maps a code to an NBD
 * error in one table: EPERM and EROFS to NBD_EPERM; EIO and ETIMEDOUT to
 * NBD_EIO; ENOMEM to NBD_ENOMEM; ENOSPC, EDQUOT and EFBIG to NBD_ENOSPC;
 * ESHUTDOWN to NBD_ESHUTDOWN; ENOTSUP and EOPNOTSUPP to NBD_ENOTSUP on a
 * FAST_ZERO request and to NBD_EINVAL otherwise; EOVERFLOW to NBD_EOVERFLOW
 * on a read with DF and to NBD_EINVAL otherwise. Every other code maps to
 * NBD_EINVAL, including EINVAL, ENODEV, EAGAIN, ECONNRESET, ENOENT and
 * EACCES from this list. A thrown value without an errno-style code counts
 * as EIO. When opening an export fails in the handshake, EPERM and EACCES
 * refuse the option with NBD_REP_ERR_POLICY, any other code with
 * NBD_REP_ERR_UNKNOWN.
 */
export type ErrnoCode =
  | 'EPERM'
  | 'EROFS'
  | 'EIO'
  | 'ENOMEM'
  | 'EINVAL'
  | 'ENOSPC'
  | 'EDQUOT'
  | 'EFBIG'
  | 'EOVERFLOW'
  | 'ENOTSUP'
  | 'EOPNOTSUPP'
  | 'ESHUTDOWN'
  | 'ENODEV'
  | 'EAGAIN'
  | 'ETIMEDOUT'
  | 'ECONNRESET'
  | 'ENOENT'
  | 'EACCES';

/** An error with an errno-style code, thrown by layers on the data path. */
export class NbdkitError extends Error {
  /** The errno-style code, for example `EIO`. */
  readonly code: string;

  constructor(code: ErrnoCode | (string & {}), message?: string, options?: { cause?: unknown }) {
    super(message ?? code, options);
    this.name = 'NbdkitError';
    this.code = code;
  }
}

/** Creates an {@link NbdkitError}; handy in `throw nbdError('EIO', 'disk went away')`. */
export function nbdError(code: ErrnoCode | (string & {}), message?: string, cause?: unknown): NbdkitError {
  return new NbdkitError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * The errno-style code a thrown value carries: its string `code` property when
 * it looks like an errno name (`E` followed by capitals), otherwise undefined.
 */
export function errnoCodeOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = error.code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
  }
  return undefined;
}

/** The errno-style code of any thrown value: {@link errnoCodeOf}, or `EIO` when it carries none. */
export function errorCode(error: unknown): string {
  return errnoCodeOf(error) ?? 'EIO';
}

/** The message of any thrown value, for logs. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
