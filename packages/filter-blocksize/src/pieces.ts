/** One part of a request, as the filter sends it beneath. */
export interface Piece {
  /** Where the piece starts in the request (an index into its buffer). */
  readonly at: number;
  /** Where the piece starts on the disk. */
  readonly offset: bigint;
  /** Its length in bytes. */
  readonly count: number;
  /**
   * True for a run of whole blocks, sent beneath as it is; false for a part
   * of one block (the head or the tail of the request), which the filter
   * reads or rewrites as the whole block holding it.
   */
  readonly aligned: boolean;
}

/**
 * Cuts the `count` bytes at `offset` into pieces: an unaligned head (the
 * part of the first block, when the request does not start on a multiple
 * of `block`), runs of whole blocks of at most `max` bytes (a multiple of
 * `block`), and an unaligned tail (the part of the last block). A request
 * within one block is one unaligned piece.
 */
export function* pieces(offset: bigint, count: number, block: number, max: number): Generator<Piece> {
  let at = 0;
  const head = Number(offset % BigInt(block));
  if (head !== 0) {
    const n = Math.min(block - head, count);
    yield { at, offset, count: n, aligned: false };
    at = n;
  }
  while (count - at >= block) {
    const n = Math.min(max, count - at - ((count - at) % block));
    yield { at, offset: offset + BigInt(at), count: n, aligned: true };
    at += n;
  }
  if (at < count) yield { at, offset: offset + BigInt(at), count: count - at, aligned: false };
}
