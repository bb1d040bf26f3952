/**
 * How a disk is laid out in a bucket: under the prefix `KEY/`, one object
 * per chunk of `objectSize` bytes, named by its index as 16 lower-case hex
 * digits (so names sort in disk order), and one metadata object. A chunk
 * with no object reads as zeroes.
 */

/** Name of the metadata object under the disk's prefix. */
export const METADATA_NAME = 'metadata.json';
const FORMAT = 'nbdkit-ts-s3-disk';
const CHUNK_NAME = /^[0-9a-f]{16}$/;

/** The name of the metadata object of the disk called `key`. */
export function metadataKey(key: string): string {
  return `${key}/${METADATA_NAME}`;
}

/** The shape of a disk: what the metadata object records. */
export interface Geometry {
  readonly size: bigint;
  readonly objectSize: number;
}

/** Object names of one disk. */
export class Layout implements Geometry {
  /** Number of chunks, the last one possibly short. */
  readonly chunks: bigint;

  constructor(
    /** The disk's key; objects live under `key/`. */
    readonly key: string,
    readonly size: bigint,
    readonly objectSize: number,
  ) {
    const os = BigInt(objectSize);
    this.chunks = (size + os - 1n) / os;
  }

  /** The prefix every object of the disk starts with. */
  get prefix(): string {
    return `${this.key}/`;
  }

  get metadataKey(): string {
    return metadataKey(this.key);
  }

  /** The object name of chunk `index`. */
  chunkKey(index: bigint): string {
    return this.prefix + index.toString(16).padStart(16, '0');
  }

  /** The chunk index an object name stands for, or undefined for other names. */
  chunkIndex(objectKey: string): bigint | undefined {
    if (!objectKey.startsWith(this.prefix)) return undefined;
    const name = objectKey.slice(this.prefix.length);
    return CHUNK_NAME.test(name) ? BigInt(`0x${name}`) : undefined;
  }

  /** Disk offset of the first byte of chunk `index`. */
  chunkStart(index: bigint): bigint {
    return index * BigInt(this.objectSize);
  }

  /** Length of chunk `index`: `objectSize`, except for a short last chunk. */
  chunkLength(index: bigint): number {
    const start = this.chunkStart(index);
    const end = start + BigInt(this.objectSize);
    return Number((end > this.size ? this.size : end) - start);
  }

  /**
   * Splits `[offset, offset + count)` into pieces, one per chunk touched:
   * the chunk, where the piece starts inside it, and where inside the request.
   */
  *pieces(offset: bigint, count: number): Generator<Piece> {
    const os = BigInt(this.objectSize);
    let done = 0;
    while (done < count) {
      const at = offset + BigInt(done);
      const index = at / os;
      const within = Number(at - index * os);
      const length = Math.min(count - done, this.chunkLength(index) - within);
      yield { index, within, length, done };
      done += length;
    }
  }
}

/** The part of a request that falls in one chunk. */
export interface Piece {
  readonly index: bigint;
  /** Offset of the piece inside the chunk. */
  readonly within: number;
  readonly length: number;
  /** Offset of the piece inside the request. */
  readonly done: number;
}

/** The metadata object's contents for a disk. */
export function encodeMetadata(g: Geometry): string {
  return `${JSON.stringify({ format: FORMAT, version: 1, size: g.size.toString(), objectSize: g.objectSize })}\n`;
}

/** Parses a metadata object; throws an error describing what is wrong with it. */
export function decodeMetadata(text: string, where: string): Geometry {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not a disk's metadata (not JSON)`);
  }
  const o = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
  if (o.format !== FORMAT) throw new Error(`${where} is not a disk's metadata (format is not ${FORMAT})`);
  if (o.version !== 1) throw new Error(`${where} has metadata version ${String(o.version)}, which this plugin cannot read`);
  if (typeof o.size !== 'string' || !/^\d+$/.test(o.size) || typeof o.objectSize !== 'number' || !Number.isSafeInteger(o.objectSize) || o.objectSize <= 0) {
    throw new Error(`${where} has a malformed size or objectSize`);
  }
  return { size: BigInt(o.size), objectSize: o.objectSize };
}
