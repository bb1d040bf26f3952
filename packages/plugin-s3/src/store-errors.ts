import { nbdError, type NbdkitError } from '@nbdkit-ts/core';

/** What an error from the S3 client carries, when it came from the store or the network. */
interface ClientError {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly attempts?: number };
}

const ACCESS_DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AllAccessDisabled', 'InvalidToken', 'ExpiredToken']);
const THROTTLED = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'ServiceUnavailable']);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** The store's name for an error (`NoSuchKey`, `AccessDenied`), or undefined. */
export function storeErrorName(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as ClientError).name : undefined;
}

/**
 * Turns an error from the S3 client into an error with an errno-style code
 * and a message that says what failed and what to do:
 * access denied and missing credentials are EPERM, an exceeded quota is
 * EDQUOT (ENOSPC to the client), everything else (missing bucket, an
 * unreachable store, throttling that outlasted the retries) is EIO.
 *
 * @param what The operation and object, such as `PUT s3://disks/vm1/0000000000000001`.
 * @param endpoint The store, for network errors.
 */
export function storeError(e: unknown, what: string, endpoint: string): NbdkitError {
  const err = (typeof e === 'object' && e !== null ? e : { message: String(e) }) as ClientError;
  const name = err.name ?? 'Error';
  const status = err.$metadata?.httpStatusCode;
  const attempts = err.$metadata?.attempts;
  const tried = attempts !== undefined && attempts > 1 ? ` (after ${attempts} attempts)` : '';
  if (name === 'NoSuchBucket') return nbdError('EIO', `${what}: the bucket does not exist at ${endpoint}`, e);
  if (ACCESS_DENIED.has(name) || status === 403) {
    return nbdError('EPERM', `${what}: access denied (${name}): check the credentials and the bucket's permissions`, e);
  }
  if (name === 'CredentialsProviderError') {
    return nbdError(
      'EPERM',
      `${what}: no credentials: give access-key= and secret-key=, or credentials-file=, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (${err.message ?? ''})`,
      e,
    );
  }
  if (name === 'QuotaExceeded') return nbdError('EDQUOT', `${what}: the store refused the write: quota exceeded`, e);
  if (THROTTLED.has(name) || status === 429 || status === 503) {
    return nbdError('EIO', `${what}: the store is throttling requests (${name})${tried}`, e);
  }
  if (err.code !== undefined && NETWORK.has(err.code)) return nbdError('EIO', `${what}: cannot reach ${endpoint}: ${err.code}${tried}`, e);
  if (name === 'TimeoutError') return nbdError('EIO', `${what}: no answer from ${endpoint} in time${tried}`, e);
  const detail = err.message !== undefined && err.message !== '' && err.message !== name ? `: ${err.message}` : '';
  return nbdError('EIO', `${what}: ${name}${status === undefined ? '' : ` (HTTP ${status})`}${detail}${tried}`, e);
}
