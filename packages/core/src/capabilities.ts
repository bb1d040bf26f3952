/** How a layer supports FUA, zeroing or caching: not at all, emulated by the server, or itself. */
export type Support = 'none' | 'emulate' | 'native';

/** Block size constraints of an export, reported to clients in NBD_INFO_BLOCK_SIZE. */
export interface BlockSize {
  /** Smallest request granularity, a power of two from 1 to 65536. */
  readonly minimum: number;
  /** Preferred request size, a power of two, at least `minimum`. */
  readonly preferred: number;
  /** Largest payload for read and write, a multiple of `minimum`. */
  readonly maximum: number;
}

/**
 * What an open context can do, asked once when it is prepared and cached for
 * its lifetime. A new context (reopen) asks again.
 */
export interface Capabilities {
  /** Size of the export in bytes. */
  readonly size: bigint;
  /** Whether the export can be written; when false the connection is read-only (no trim, zero or FUA either). */
  readonly canWrite: boolean;
  /** Whether flush is supported. */
  readonly canFlush: boolean;
  /** Whether the export is a rotating disk, where seeks are slow (a hint to clients). */
  readonly isRotational: boolean;
  /** Whether trim is supported. */
  readonly canTrim: boolean;
  /** 'emulate': the server writes zeroes with pwrite. */
  readonly canZero: Support;
  /** Whether a zero with FAST_ZERO can be honoured (fail fast instead of writing zeroes). */
  readonly canFastZero: boolean;
  /** 'emulate': the server follows the call with a flush. */
  readonly canFua: Support;
  /**
   * Whether clients may use several connections to the export at once: a
   * flush on one makes the writes completed on every connection durable.
   */
  readonly canMultiConn: boolean;
  /** Whether block status (extents) is supported. */
  readonly canExtents: boolean;
  /** 'emulate': the server reads the range and discards it. */
  readonly canCache: Support;
  /**
   * What the export is, in words, for clients that ask (NBD_INFO_DESCRIPTION).
   * Left out: the description listExports gives the export, if any; set to
   * undefined by a filter: none, whatever the layers beneath say.
   */
  readonly description?: string | undefined;
  /** Block size constraints, or undefined when the layer has none. */
  readonly blockSize: BlockSize | undefined;
}
