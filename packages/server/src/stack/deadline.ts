import { nbdError, type DataMethods, type ExtentList, type Flags, type MaybePromise, type SendFile, type SendFrom } from '@nbdkit-ts/core';

/**
 * Settles as `p` does, or fails with ETIMEDOUT once `ms` have passed. When
 * `p` resolves after that, `late` gets its value (to close what was opened).
 */
export function withDeadline<T>(p: PromiseLike<T>, ms: number, what: string, late?: (v: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      reject(nbdError('ETIMEDOUT', `${what}: no answer within ${ms / 1000} s (--request-timeout)`));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        if (expired) late?.(v);
        else resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what the call rejected with
        if (!expired) reject(e);
      },
    );
  });
}

/**
 * The data calls of a context, each failing with ETIMEDOUT when it has not
 * answered within `ms` (--request-timeout). The call itself goes on; its
 * late result is dropped, and the client has had its error.
 */
export class DeadlineCalls implements DataMethods, SendFrom {
  constructor(
    private readonly inner: DataMethods & SendFrom,
    private readonly ms: number,
    private readonly expired: (call: string) => void,
  ) {}

  private bound(call: string, r: MaybePromise<void>): MaybePromise<void> {
    if (r === undefined) return r;
    return withDeadline(r, this.ms, call).catch((e: unknown) => {
      if ((e as { code?: unknown }).code === 'ETIMEDOUT') this.expired(call);
      throw e;
    });
  }

  pread(buf: Uint8Array, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.bound('pread', this.inner.pread(buf, offset, flags));
  }

  sendFrom(count: number, offset: bigint, flags: Flags, send: SendFile): MaybePromise<void> {
    return this.bound('sendFrom', this.inner.sendFrom(count, offset, flags, send));
  }

  pwrite(buf: Uint8Array, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.bound('pwrite', this.inner.pwrite(buf, offset, flags));
  }

  flush(flags: Flags): MaybePromise<void> {
    return this.bound('flush', this.inner.flush(flags));
  }

  trim(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.bound('trim', this.inner.trim(count, offset, flags));
  }

  zero(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.bound('zero', this.inner.zero(count, offset, flags));
  }

  extents(count: number, offset: bigint, flags: Flags, extents: ExtentList): MaybePromise<void> {
    return this.bound('extents', this.inner.extents(count, offset, flags, extents));
  }

  cache(count: number, offset: bigint, flags: Flags): MaybePromise<void> {
    return this.bound('cache', this.inner.cache(count, offset, flags));
  }
}
