import { truncateSync, writeFileSync } from 'node:fs';
import { runOk } from '@nbdkit-ts/testing';

/** A partition as sfdisk lists it, in bytes. */
export interface ListedPartition {
  /** Its number: 1 to 4 primary (or extended), 5 and up logical (MBR); the entry (GPT). */
  readonly number: number;
  /** First byte. */
  readonly offset: number;
  /** Size in bytes. */
  readonly size: number;
  /** The MBR type in hexadecimal, or the GPT type GUID. */
  readonly type: string;
}

/**
 * Makes `path` a disk of `size` bytes partitioned by sfdisk: `label` is `dos`
 * (MBR) or `gpt`, `script` sfdisk's input (one partition a line,
 * `START SIZE TYPE` in sectors). Gives the partitions as sfdisk lists them.
 */
export async function partitionedDisk(path: string, size: number, label: 'dos' | 'gpt', script: string): Promise<ListedPartition[]> {
  writeFileSync(path, '');
  truncateSync(path, size);
  await runOk('sfdisk', ['-q', '-X', label, path], { input: script });
  return listPartitions(path);
}

/** The partitions of the disk `path`, as sfdisk lists them. */
export async function listPartitions(path: string): Promise<ListedPartition[]> {
  const { stdout } = await runOk('sfdisk', ['--json', path]);
  const table = (JSON.parse(stdout) as { partitiontable: { partitions: { node: string; start: number; size: number; type: string }[] } }).partitiontable;
  return table.partitions.map((p) => ({ number: Number(/(\d+)$/.exec(p.node)?.[1]), offset: p.start * 512, size: p.size * 512, type: p.type }));
}
