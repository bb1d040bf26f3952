import type { Flags } from './flags.js';
import type { MaybePromise } from './maybe-promise.js';

/**
 * Sends the data of a read's reply from an open file: `count` bytes of the
 * file descriptor `fd` from `position`, without reading them into memory
 * (sendfile). It settles once the bytes have gone to the client or the
 * connection has failed; `fd` must stay open until then.
 */
export type SendFile = (fd: number, position: bigint) => Promise<void>;

/**
 * A read the server may send straight from a file. A layer whose bytes are
 * those of an open file (the file plugin) implements `sendFrom` on its
 * handle: it calls `send` once with the file and the position of the `count`
 * bytes at `offset`, and keeps its call pending until `send` settles. It may
 * instead return without calling `send` (or throw, as `pread` would): the
 * server then reads with `pread`.
 *
 * A filter that leaves out `sendFrom` passes it on only if it also leaves
 * out `pread` (its reads are then the layer beneath's); a filter with a
 * `pread` of its own stops it, so that nothing bypasses that `pread`.
 */
export interface SendFrom {
  /** Sends the `count` bytes at `offset` from a file with `send`, or returns without calling it. */
  sendFrom(count: number, offset: bigint, flags: Flags, send: SendFile): MaybePromise<void>;
}
