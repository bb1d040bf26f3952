import { MAX_INIT_LEN, MAX_UNWRITTEN_LEN, type Extent } from './extent-node.js';

/**
 * Sorted lists of extents: finding the extent at or before a logical block,
 * and replacing a range with a written extent. Used both on one leaf's
 * entries and on a file's whole flattened map.
 */

/** Index of the last extent starting at or before `lblk`, or -1. */
export function findExtent(list: readonly Extent[], lblk: number): number {
  let lo = 0;
  let hi = list.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as Extent).lblk <= lblk) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function canMerge(a: Extent, b: Extent): boolean {
  return (
    a.unwritten === b.unwritten &&
    a.lblk + a.len === b.lblk &&
    a.phys + a.len === b.phys &&
    a.len + b.len <= (a.unwritten ? MAX_UNWRITTEN_LEN : MAX_INIT_LEN)
  );
}

/**
 * Puts the written extent `add` into the sorted `list`, in place. What it
 * covers must be holes or unwritten extents, which are cut around it. The
 * result is merged with its neighbours where they continue each other.
 * Throws if `add` overlaps a written extent.
 */
export function insertWritten(list: Extent[], add: Extent): void {
  const end = add.lblk + add.len;
  let i = findExtent(list, add.lblk);
  if (i < 0 || (list[i] as Extent).lblk + (list[i] as Extent).len <= add.lblk) i++;
  const replaced: Extent[] = [];
  let j = i;
  for (; j < list.length && (list[j] as Extent).lblk < end; j++) {
    const e = list[j] as Extent;
    if (!e.unwritten) throw new Error(`extent at ${e.lblk} is already written`);
    if (e.lblk < add.lblk) replaced.push({ ...e, len: add.lblk - e.lblk });
    replaced.push(add);
    if (e.lblk + e.len > end) replaced.push({ ...e, lblk: end, len: e.lblk + e.len - end, phys: e.phys + (end - e.lblk) });
  }
  if (replaced.length === 0) replaced.push(add);
  // `add` was pushed once per overlapped extent: keep it once.
  const pieces = replaced.filter((e, k) => e !== add || replaced.indexOf(add) === k);
  list.splice(i, j - i, ...pieces);
  // Merge around the new extent.
  const at = list.indexOf(add);
  const next = list[at + 1];
  if (next !== undefined && canMerge(add, next)) {
    add.len += next.len;
    list.splice(at + 1, 1);
  }
  const prev = list[at - 1];
  if (prev !== undefined && canMerge(prev, add)) {
    prev.len += add.len;
    list.splice(at, 1);
  }
}
