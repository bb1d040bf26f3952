import { closeSync, fstatSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { errorMessage } from '@nbdkit-ts/core';

/** A file given on the command line, which becomes one partition, with the settings in force where it was given. */
export interface PartitionFile {
  /** As given on the command line: messages name it, and a GPT names the partition after it. */
  readonly name: string;
  /** Resolved against the working directory at startup. */
  readonly path: string;
  /** Its size at startup, which the partition keeps. */
  readonly size: bigint;
  /** Its partition starts at a multiple of this many bytes. */
  readonly alignment: bigint;
  /** Its MBR type byte. */
  readonly mbrId: number;
  /** Its GPT partition type GUID, as on disk. */
  readonly typeGuid: Buffer;
  /** Its GPT unique partition GUID, as on disk. */
  readonly uniqueGuid: Buffer;
}

/**
 * The size of the file `name`, which must be a regular file, readable and not
 * empty. Throws an error naming `key` and the file otherwise.
 */
export function partitionFileSize(key: string, name: string): bigint {
  if (name === '') throw new Error(`${key}=: expected a file name`);
  let fd: number;
  try {
    fd = openSync(resolve(name), 'r');
  } catch (e) {
    throw new Error(`${key}=${name}: ${errorMessage(e)}`, { cause: e });
  }
  try {
    const stat = fstatSync(fd, { bigint: true });
    if (!stat.isFile()) throw new Error(`${key}=${name}: not a regular file`);
    if (stat.size === 0n) throw new Error(`${key}=${name}: the file is empty, and a partition cannot be empty`);
    return stat.size;
  } finally {
    closeSync(fd);
  }
}
