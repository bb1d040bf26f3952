import { MAX_U32, type Extent } from '@nbdkit-ts/core';

/** A block status descriptor: the length of an extent and its status flags. */
export type BlockDescriptor = readonly [length: number, flags: number];

/**
 * The descriptors of a block status reply to a request of `count` bytes,
 * from the extents the layers reported from the request's offset on (as far
 * as they went, possibly past the request), as nbdkit sends them:
 *
 * - with REQ_ONE, the first extent alone, cut to `count` (the specification:
 *   its length MUST NOT exceed the request's);
 * - otherwise the extents in order up to the first one that reaches the end
 *   of the request, which is sent whole (the specification: the lengths of
 *   all but the last MUST sum to less than the request's length; the last
 *   MAY run past it). nbdkit goes on past an extent that ends exactly at the
 *   end of the request and sends the next one too, which that MUST forbids.
 *
 * Each length is at most 4 GiB - 1, the most a descriptor holds; an extent
 * that long always reaches the end of the request. `count` is at least 1
 * (requests of 0 bytes are refused before any layer sees them), so no
 * descriptor is empty. Returns no descriptor when there is no extent.
 */
export function blockDescriptors(extents: readonly Extent[], count: number, reqOne: boolean): BlockDescriptor[] {
  const first = extents[0];
  if (first === undefined) return [];
  if (reqOne) return [[first.length < BigInt(count) ? Number(first.length) : count, first.type]];
  const out: BlockDescriptor[] = [];
  let covered = 0n;
  for (const e of extents) {
    const length = e.length < BigInt(MAX_U32) ? Number(e.length) : MAX_U32;
    out.push([length, e.type]);
    covered += BigInt(length);
    if (covered >= BigInt(count)) break;
  }
  return out;
}
