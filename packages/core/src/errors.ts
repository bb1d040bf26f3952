/**
 * Errors on the data path carry an errno-style `code`, as Node's own
 * `SystemError`s do (`EIO`, `ENOSPC`, `EROFS`, ...). The server maps the code
 * to an NBD error in one table. Never test errors with `instanceof` across
 * packages: read {@link errorCode} instead.
 */

/** The errno names the server knows how to map to NBD errors. Others map to EINVAL. */
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
