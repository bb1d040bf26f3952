import { statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runOk } from '@nbdkit-ts/testing';

export const MiB = 1024 * 1024;

/** Environment for the server that runs it as where koffi cannot be loaded (another OS, a missing binary). */
export const WITHOUT_KOFFI = { NODE_OPTIONS: `--import=${pathToFileURL(join(import.meta.dirname, 'without-koffi.js')).href}` };

/** Bytes the file system allocated to `path` (`stat` blocks). */
export function allocated(path: string): number {
  return statSync(path).blocks * 512;
}

/**
 * Makes a sparse image of `size` bytes (truncate) with random data at each of
 * `[offset, length]` (dd), written to disk so that its page cache is clean.
 */
export async function sparseImage(path: string, size: number, data: readonly (readonly [number, number])[]): Promise<void> {
  await runOk('truncate', ['-s', String(size), path]);
  for (const [offset, length] of data) {
    await runOk('dd', ['if=/dev/urandom', `of=${path}`, 'bs=1M', 'iflag=count_bytes', 'oflag=seek_bytes', `seek=${offset}`, `count=${length}`, 'conv=notrunc,fsync', 'status=none']);
  }
}

/** What `nbdinfo --json` says about the export at `uri`. */
export async function exportInfo(uri: string): Promise<Record<string, unknown>> {
  const { stdout } = await runOk('nbdinfo', ['--json', uri]);
  return (JSON.parse(stdout) as { exports: Record<string, unknown>[] }).exports[0] as Record<string, unknown>;
}

/** One run of a block status map: data or not, reads as zero or not. */
export interface MapEntry {
  start: number;
  length: number;
  data: boolean;
  zero: boolean;
}

function merge(entries: MapEntry[]): MapEntry[] {
  const out: MapEntry[] = [];
  for (const e of entries) {
    const last = out.at(-1);
    if (last !== undefined && last.data === e.data && last.zero === e.zero && last.start + last.length === e.start) last.length += e.length;
    else out.push({ ...e });
  }
  return out;
}

/** `qemu-img map` of a raw file or NBD URI, adjacent runs of the same kind merged. */
export async function qemuMap(target: string): Promise<MapEntry[]> {
  const { stdout } = await runOk('qemu-img', ['map', '--output=json', '-f', 'raw', target]);
  const entries = JSON.parse(stdout) as { start: number; length: number; data: boolean; zero: boolean }[];
  return merge(entries.map(({ start, length, data, zero }) => ({ start, length, data, zero })));
}

/** `nbdinfo --map` (base:allocation) of an NBD URI, in the same form as {@link qemuMap}. */
export async function nbdinfoMap(uri: string): Promise<MapEntry[]> {
  const { stdout } = await runOk('nbdinfo', ['--map', '--json', uri]);
  const entries = JSON.parse(stdout) as { offset: number; length: number; type: number }[];
  return merge(entries.map(({ offset, length, type }) => ({ start: offset, length, data: (type & 1) === 0, zero: (type & 2) !== 0 })));
}

/** Total length of the runs that hold data. */
export function dataBytes(map: readonly MapEntry[]): number {
  return map.filter((e) => e.data).reduce((n, e) => n + e.length, 0);
}

/** Pages of `path` in the page cache, in bytes (`fincore`). */
export async function resident(path: string): Promise<number> {
  const { stdout } = await runOk('fincore', ['--bytes', '--noheadings', '--output', 'RES', path]);
  return Number(stdout.trim());
}

/** Drops the clean pages of `path` from the page cache. */
export async function dropCache(path: string): Promise<void> {
  await runOk('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none']);
}
