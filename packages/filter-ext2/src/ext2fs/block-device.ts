/**
 * The image a filesystem lives on: byte-addressed reads and writes, and a
 * flush that makes completed writes durable. The filter gives a context on
 * the layer beneath; tests may give anything else.
 */
export interface BlockDevice {
  /** Size of the image in bytes. */
  readonly size: bigint;
  /** Whether writes are allowed. */
  readonly writable: boolean;
  /** Fills `buf` from `offset`. */
  read(buf: Uint8Array, offset: bigint): Promise<void> | void;
  /** Writes `buf` at `offset`. */
  write(buf: Uint8Array, offset: bigint): Promise<void> | void;
  /** Makes every completed write durable. */
  flush(): Promise<void> | void;
}
