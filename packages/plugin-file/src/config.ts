import { fstatSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { errorMessage, type ParamSpec } from '@nbdkit-ts/core';
import { Advice } from './native.js';

/** What the plugin serves: one file or block device, every one in a directory, or an inherited descriptor. */
export type Source =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'dir'; readonly path: string }
  | { readonly kind: 'fd'; readonly fd: number };

/** `cache=`: keep pages in the host's page cache (default) or drop them after use (none). */
export type CacheMode = 'default' | 'none';

const FADVISE = { normal: Advice.NORMAL, random: Advice.RANDOM, sequential: Advice.SEQUENTIAL } as const;
/** `fadvise=`: the access pattern announced to the kernel when a file is opened. */
export type FadviseMode = keyof typeof FADVISE;

/** The plugin's parameters, for `--help`. */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'file', description: 'the file or block device to serve', magic: true },
  { name: 'dir', description: 'serve every regular file and block device in this directory, chosen by export name' },
  { name: 'directory', description: 'the same as dir= (nbdkit spells it both ways)' },
  { name: 'fd', description: 'serve this already open file descriptor (above 2), inherited from the parent process' },
  { name: 'dirfd', description: 'as dir=, for a directory open as this inherited descriptor (above 2)' },
  { name: 'cache', description: 'default, or none: drop pages from the page cache after reading and writing them' },
  { name: 'fadvise', description: 'normal, random or sequential: the access pattern to announce to the kernel' },
];

const SOURCE_KEYS = ['file', 'dir', 'fd', 'dirfd'] as const;

/** The parameters as given, checked one by one and then together. */
export class FileConfig {
  private readonly given = new Map<string, string>();
  cache: CacheMode = 'default';
  fadvise: FadviseMode = 'normal';

  /** The posix_fadvise advice for `fadvise=`. */
  get advice(): number {
    return FADVISE[this.fadvise];
  }

  /** One `key=value`; throws an error naming the parameter when the value is bad. */
  set(given: string, value: string): void {
    const key = given === 'directory' ? 'dir' : given;
    if (this.given.has(key)) throw new Error(`${given}= given more than once`);
    this.given.set(key, value);
    switch (key) {
      case 'file':
      case 'dir':
        if (value === '') throw new Error(`${given}= must not be empty`);
        break;
      case 'fd':
      case 'dirfd':
        if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new Error(`${key}=${value}: expected a file descriptor number`);
        if (Number(value) <= 2) throw new Error(`${key}=${value}: descriptors 0, 1 and 2 are stdin, stdout and stderr; pass one above 2`);
        break;
      case 'cache':
        if (value !== 'default' && value !== 'none') throw new Error(`cache=${value}: expected default or none`);
        this.cache = value;
        break;
      case 'fadvise':
        if (!Object.hasOwn(FADVISE, value)) throw new Error(`fadvise=${value}: expected normal, random or sequential`);
        this.fadvise = value as FadviseMode;
        break;
    }
  }

  /** After the last parameter: exactly one of file=, dir=, fd=, dirfd=, and it must exist and be of the right kind. */
  complete(): Source {
    const sources = SOURCE_KEYS.filter((k) => this.given.has(k));
    if (sources.length === 0) {
      throw new Error('one of file=, dir=, fd= or dirfd= is required: what to serve (nbdkit-ts file disk.img, nbdkit-ts file dir=DIR)');
    }
    if (sources.length > 1) throw new Error(`${sources.map((k) => `${k}=`).join(' and ')} cannot be used together: give one of them`);
    const key = sources[0] as (typeof SOURCE_KEYS)[number];
    const value = this.given.get(key) as string;
    const statOf = (stat: () => { isDirectory(): boolean; isFile(): boolean; isBlockDevice(): boolean }) => {
      try {
        return stat();
      } catch (e) {
        throw new Error(`${key}=${value}: ${errorMessage(e)}`, { cause: e });
      }
    };
    if (key === 'fd') {
      const st = statOf(() => fstatSync(Number(value)));
      if (!st.isFile() && !st.isBlockDevice()) throw new Error(`fd=${value}: not a regular file or block device`);
      return { kind: 'fd', fd: Number(value) };
    }
    if (key === 'dirfd') {
      if (!statOf(() => fstatSync(Number(value))).isDirectory()) throw new Error(`dirfd=${value}: not a directory`);
      // The directory's files are opened through the descriptor's name in /proc (Linux).
      return { kind: 'dir', path: `/proc/self/fd/${value}` };
    }
    const path = resolve(value);
    const st = statOf(() => statSync(path));
    if (key === 'dir') {
      if (!st.isDirectory()) throw new Error(`dir=${value}: not a directory`);
      return { kind: 'dir', path };
    }
    if (st.isDirectory()) throw new Error(`file=${value}: is a directory; use dir=${value} to serve the files in it`);
    if (!st.isFile() && !st.isBlockDevice()) throw new Error(`file=${value}: not a regular file or block device`);
    return { kind: 'file', path };
  }
}
