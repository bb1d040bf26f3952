import { ExtentList, ExtentType, Flag, nbdError, type Flags, type Next } from '@nbdkit-ts/core';

/**
 * Reports the extents of `count` bytes at `offset` (both whole words of
 * `word` bytes) from those of `next`, with every boundary on a word boundary.
 * The extents beneath are passed on up to the first boundary that falls
 * inside a word; that word is reported as one extent having only the type
 * bits that all of its bytes have (so it is data unless all of it is a hole,
 * or all of it reads as zeroes), and the answer stops there: the client asks
 * again for the rest.
 */
export async function alignedExtents(next: Next, word: bigint, count: number, offset: bigint, flags: Flags, extents: ExtentList): Promise<void> {
  const below = new ExtentList(offset, offset + BigInt(count));
  await next.extents(count, offset, flags, below);
  for (const e of below.extents) {
    const end = e.offset + e.length;
    const inside = end % word;
    if (inside === 0n) {
      extents.add(e.offset, e.length, e.type);
      continue;
    }
    const split = end - inside;
    if (split > e.offset) extents.add(e.offset, split - e.offset, e.type);
    extents.add(split, word, e.type & (await commonType(next, end, split + word, flags)));
    return;
  }
}

/** The type bits that every byte from `from` to `to` has beneath. */
async function commonType(next: Next, from: bigint, to: bigint, flags: Flags): Promise<number> {
  let type: number = ExtentType.HOLE | ExtentType.ZERO;
  while (from < to) {
    const part = new ExtentList(from, to);
    await next.extents(Number(to - from), from, flags & ~Flag.REQ_ONE, part);
    if (part.covered === from) throw nbdError('EIO', `swab: the layer beneath reported no extent at ${from}`);
    for (const e of part.extents) type &= e.type;
    from = part.covered;
  }
  return type;
}
