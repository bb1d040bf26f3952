/** The sector size of the virtual disk, in bytes: fixed, as in nbdkit. */
export const SECTOR = 512n;
/** The largest alignment of a partition (and the default), so also the longest run of padding. */
export const MAX_ALIGNMENT = 1024n * 1024n;

/** A piece of the virtual disk: a partition table in memory, a partition's file, or zeroes. */
export type Region =
  | { readonly kind: 'table'; readonly start: bigint; readonly length: bigint; readonly name: string; readonly data: Buffer }
  | { readonly kind: 'file'; readonly start: bigint; readonly length: bigint; readonly file: number }
  | { readonly kind: 'zero'; readonly start: bigint; readonly length: bigint };

/** A region that holds a partition table. */
export type TableRegion = Extract<Region, { kind: 'table' }>;
/** A region that holds a partition's file. */
export type FileRegion = Extract<Region, { kind: 'file' }>;

/** The regions of a virtual disk, end to end from byte 0, built in order. */
export class Layout {
  readonly regions: Region[] = [];

  /** The size of the disk so far: the end of its last region. */
  get size(): bigint {
    const last = this.regions.at(-1);
    return last === undefined ? 0n : last.start + last.length;
  }

  /** Appends a partition table (or boot record) of `data.length` bytes, zero until it is filled in. */
  appendTable(name: string, data: Buffer): TableRegion {
    const region = { kind: 'table', start: this.size, length: BigInt(data.length), name, data } as const;
    this.regions.push(region);
    return region;
  }

  /**
   * Appends file number `file` of `length` bytes, after zeroes up to a multiple
   * of `alignment` and followed by zeroes up to the next whole sector.
   */
  appendFile(file: number, length: bigint, alignment: bigint): FileRegion {
    this.padTo(alignment);
    const region = { kind: 'file', start: this.size, length, file } as const;
    this.regions.push(region);
    this.padTo(SECTOR);
    return region;
  }

  /** The index of the region that holds byte `offset`, which must be inside the disk. */
  find(offset: bigint): number {
    let lo = 0;
    let hi = this.regions.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.regions[mid]?.start ?? 0n) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private padTo(alignment: bigint): void {
    const start = this.size;
    const length = (alignment - (start % alignment)) % alignment;
    if (length > 0n) this.regions.push({ kind: 'zero', start, length });
  }
}
