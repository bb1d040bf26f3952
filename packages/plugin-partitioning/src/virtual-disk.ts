import { open, type FileHandle } from 'node:fs/promises';
import { errnoCodeOf, errorMessage, nbdError, toSafeNumber } from '@nbdkit-ts/core';
import { MAX_ALIGNMENT, type Layout, type Region } from './layout.js';
import type { PartitionFile } from './partition-file.js';

/** What padding holds, to compare writes with; no padding is longer. */
const PADDING = Buffer.alloc(Number(MAX_ALIGNMENT));

/** The part of a request that falls in one region. */
interface Piece {
  readonly region: Region;
  /** Where the piece starts in the request's buffer. */
  readonly at: number;
  /** Where it starts in the region. */
  readonly within: bigint;
  readonly length: number;
}

/**
 * The virtual disk as one context sees it: the layout, shared by all, and the
 * files, opened for this context (read-only for a read-only one). Reads
 * assemble the tables, padding and files; writes go to the files, and may
 * touch the tables and padding only with the bytes already there.
 */
export class VirtualDisk {
  private constructor(
    private readonly layout: Layout,
    private readonly files: readonly PartitionFile[],
    private readonly handles: readonly FileHandle[],
  ) {}

  /** Opens every file of `files`, read-only or read-write; a file that cannot be opened fails it all. */
  static async open(layout: Layout, files: readonly PartitionFile[], readonly: boolean): Promise<VirtualDisk> {
    const handles: FileHandle[] = [];
    try {
      for (const file of files) handles.push(await openFile(file, readonly));
    } catch (e) {
      await Promise.allSettled(handles.map((h) => h.close()));
      throw e;
    }
    return new VirtualDisk(layout, files, handles);
  }

  async read(buf: Uint8Array, offset: bigint): Promise<void> {
    const reads: Promise<void>[] = [];
    for (const { region, at, within, length } of this.pieces(offset, buf.length)) {
      const part = buf.subarray(at, at + length);
      if (region.kind === 'file') reads.push(this.readFile(region.file, part, toSafeNumber(within, 'file offset')));
      else part.set(expected(region, within, length));
    }
    await Promise.all(reads);
  }

  /** Writes nothing unless every byte for the tables and padding is the same as there already. */
  async write(buf: Uint8Array, offset: bigint): Promise<void> {
    const pieces = [...this.pieces(offset, buf.length)];
    for (const { region, at, within, length } of pieces) {
      if (region.kind === 'file' || Buffer.compare(buf.subarray(at, at + length), expected(region, within, length)) === 0) continue;
      const where = `at bytes ${region.start + within}-${region.start + within + BigInt(length) - 1n}`;
      throw region.kind === 'table'
        ? nbdError('EIO', `write ${where} would change the ${region.name}: the partition tables of the disk cannot be changed`)
        : nbdError('EIO', `write of data other than zeroes ${where}, padding between partitions, which only holds zeroes`);
    }
    const writes: Promise<void>[] = [];
    for (const { region, at, within, length } of pieces) {
      if (region.kind === 'file') writes.push(this.writeFile(region.file, buf.subarray(at, at + length), toSafeNumber(within, 'file offset')));
    }
    await Promise.all(writes);
  }

  /** Makes the writes to every file durable. */
  async flush(): Promise<void> {
    await Promise.all(this.handles.map((h, i) => h.datasync().catch((e: unknown) => this.fail(i, 'flush', e))));
  }

  async close(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.close()));
  }

  /** The pieces of the `count` bytes at `offset`, region by region. */
  private *pieces(offset: bigint, count: number): Generator<Piece> {
    let index = this.layout.find(offset);
    for (let at = 0; at < count; ) {
      const region = this.layout.regions[index++];
      if (region === undefined) throw nbdError('EIO', `${count} bytes at ${offset} pass the end of the disk (${this.layout.size} bytes)`);
      const within = offset + BigInt(at) - region.start;
      const rest = region.length - within;
      const length = rest < BigInt(count - at) ? Number(rest) : count - at;
      yield { region, at, within, length };
      at += length;
    }
  }

  // Positions are numbers: FileHandle.write ignores a bigint position and writes at the current one.
  private async readFile(file: number, part: Uint8Array, position: number): Promise<void> {
    const handle = this.handle(file);
    for (let done = 0; done < part.length; ) {
      const { bytesRead } = await handle.read(part, done, part.length - done, position + done).catch((e: unknown) => this.fail(file, 'read', e));
      if (bytesRead === 0) {
        const f = this.files[file];
        throw nbdError('EIO', `${f?.name}: nothing to read at byte ${position + done}: the file is shorter than the ${f?.size} bytes it had at startup`);
      }
      done += bytesRead;
    }
  }

  private async writeFile(file: number, part: Uint8Array, position: number): Promise<void> {
    const handle = this.handle(file);
    for (let done = 0; done < part.length; ) {
      const { bytesWritten } = await handle.write(part, done, part.length - done, position + done).catch((e: unknown) => this.fail(file, 'write', e));
      done += bytesWritten;
    }
  }

  private handle(file: number): FileHandle {
    const handle = this.handles[file];
    if (handle === undefined) throw nbdError('EIO', `no partition ${file + 1}`);
    return handle;
  }

  /** Throws `error` again with its errno code and the file's name. */
  private fail(file: number, what: string, error: unknown): never {
    throw nbdError(errnoCodeOf(error) ?? 'EIO', `${this.files[file]?.name}: ${what}: ${errorMessage(error)}`, error);
  }
}

/** What a table or padding region holds at `within`, for `length` bytes. */
function expected(region: Exclude<Region, { kind: 'file' }>, within: bigint, length: number): Uint8Array {
  if (region.kind === 'zero') return PADDING.subarray(0, length);
  const from = Number(within);
  return region.data.subarray(from, from + length);
}

async function openFile(file: PartitionFile, readonly: boolean): Promise<FileHandle> {
  try {
    return await open(file.path, readonly ? 'r' : 'r+');
  } catch (e) {
    const hint = readonly ? '' : ' for writing (serve the disk read-only with -r?)';
    throw nbdError(errnoCodeOf(e) ?? 'EIO', `${file.name}: cannot open${hint}: ${errorMessage(e)}`, e);
  }
}
