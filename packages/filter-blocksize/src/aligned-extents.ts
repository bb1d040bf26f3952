import { ExtentList, Flag, nbdError, type Extent, type Flags, type Next } from '@nbdkit-ts/core';

/**
 * Asks `next` about the `count` bytes at `offset` (both multiples of
 * `block`) and returns extents that start and end on multiples of `block`,
 * covering a prefix of the range (at least one block):
 *
 * - extents beneath that are whole blocks are kept as they are;
 * - at the first one that ends inside a block, the answer stops at the
 *   start of that block;
 * - when that block is the first one, its extents (asked for further when
 *   the answer beneath stopped inside it) are merged into one extent of the
 *   whole block, whose type has only the bits all of them have: a block
 *   that is only partly a hole is data, one only partly zero is not zero.
 */
export async function alignedExtents(next: Next, count: number, offset: bigint, flags: Flags, block: number): Promise<Extent[]> {
  const size = BigInt(block);
  const answer = new ExtentList(offset, offset + BigInt(count));
  await next.extents(count, offset, flags, answer);
  const out: Extent[] = [];
  for (const e of answer.extents) {
    const end = e.offset + e.length;
    const cut = end - (end % size);
    if (cut === end) {
      out.push(e);
      continue;
    }
    if (cut > e.offset) out.push({ offset: e.offset, length: cut - e.offset, type: e.type });
    else if (out.length === 0) out.push(await wholeBlock(next, e.offset, size, flags, answer.extents));
    break;
  }
  return out;
}

/** One extent for the block at `start`, merging the types of `known` extents and of those asked for past them. */
async function wholeBlock(next: Next, start: bigint, size: bigint, flags: Flags, known: readonly Extent[]): Promise<Extent> {
  const end = start + size;
  let type = -1;
  let reached = start;
  let extents = known;
  for (;;) {
    for (const e of extents) {
      if (e.offset >= end) break;
      type &= e.type;
      reached = e.offset + e.length;
    }
    if (reached >= end) return { offset: start, length: size, type };
    const more = new ExtentList(reached, end);
    await next.extents(Number(end - reached), reached, flags & ~Flag.REQ_ONE, more);
    if (more.covered <= reached) throw nbdError('EIO', `blocksize: the layer beneath reported no extent at ${reached}`);
    extents = more.extents;
  }
}
