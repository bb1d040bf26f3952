import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { run, runOk, seededRandom } from '@nbdkit-ts/testing';

/**
 * A fresh directory for images, in memory (/dev/shm) where there is one:
 * flushes then cost nothing, and tests running side by side do not wait on
 * each other's disk writes.
 */
export function scratchDir(): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'nbdkit-ts-ext2-'));
}

/** A scratch directory and the test tree in it, for the tests of the enclosing `describe`. */
export interface Scratch {
  readonly dir: string;
  readonly tree: Tree;
}

/**
 * Makes a {@link scratchDir} and the test tree in it before the tests of the
 * enclosing `describe`, and removes the directory after them. Its fields can
 * be read once those tests run.
 */
export function useScratchTree(): Scratch {
  let dir: string | undefined;
  let tree: Tree | undefined;
  const notYet = (): never => {
    throw new Error('the scratch tree is made before the tests of its describe block');
  };
  beforeAll(() => {
    dir = scratchDir();
    tree = makeTree(dir);
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir ?? notYet();
    },
    get tree() {
      return tree ?? notYet();
    },
  };
}


/** `n` bytes from the generator, never a whole block of zeroes (mke2fs -d would make it a hole). */
export function randomBytes(n: number, seed: number): Buffer {
  const next = seededRandom(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE((next() * 2 ** 32) >>> 0 || 1, Math.min(i, n - 4));
  return b;
}

/** A sparse file: `size` bytes, with `chunks` of data at their offsets and holes elsewhere. */
function writeSparse(path: string, size: number, chunks: [number, Buffer][]): Buffer {
  const fd = openSync(path, 'w');
  for (const [at, data] of chunks) writeSync(fd, data, 0, data.length, at);
  ftruncateSync(fd, size);
  closeSync(fd);
  return readFileSync(path);
}

/** The files of the test tree, by absolute path inside the filesystem. */
export interface Tree {
  readonly dir: string;
  readonly files: ReadonlyMap<string, Buffer>;
}

/**
 * Writes the tree every image is made from: a plain file, a large sparse
 * one reaching into triple-indirect blocks with 1 KiB blocks, a smaller
 * sparse one to write to, a fragmented one, two files small
 * enough for inline data, a directory big enough for an htree index, a
 * symbolic link, a FIFO and a nearly empty preallocation target.
 */
export function makeTree(root: string): Tree {
  const dir = join(root, 'tree');
  const files = new Map<string, Buffer>();
  const add = (path: string, data: Buffer) => {
    writeFileSync(join(dir, path), data);
    files.set(path, data);
  };
  mkdirSync(join(dir, 'disks'), { recursive: true });
  mkdirSync(join(dir, 'many'));
  add('/disks/vm.img', randomBytes(3 * 1024 * 1024 + 1234, 1));
  const MiB = 1024 * 1024;
  files.set(
    '/disks/sparse.img',
    writeSparse(join(dir, 'disks/sparse.img'), 80 * MiB, [
      [0, randomBytes(10_000, 2)],
      [3 * MiB, randomBytes(5000, 3)],
      [70 * MiB, randomBytes(3 * 4096, 4)],
      // Data at the very end: mke2fs -d with inline_data drops a trailing hole from the size.
      [80 * MiB - 4096, randomBytes(4096, 7)],
    ]),
  );
  files.set(
    '/disks/holes.img',
    writeSparse(join(dir, 'disks/holes.img'), 16 * MiB, [
      [0, randomBytes(6000, 8)],
      [5 * MiB, randomBytes(70_000, 9)],
      [16 * MiB - 4096, randomBytes(4096, 10)],
    ]),
  );
  // Eight separate runs of data: more extents than the inode holds, so mke2fs gives it a tree block.
  files.set(
    '/disks/frag.img',
    writeSparse(
      join(dir, 'disks/frag.img'),
      8 * MiB,
      // The last run ends the file (see sparse.img).
      Array.from({ length: 8 }, (_, i): [number, Buffer] => [i < 7 ? i * MiB : 8 * MiB - 65536, randomBytes(65536, 20 + i)]),
    ),
  );
  files.set('/prealloc.img', writeSparse(join(dir, 'prealloc.img'), MiB, [[MiB - 4096, Buffer.alloc(4096, 0x5a)]]));
  add('/tiny.txt', Buffer.from('forty bytes of text in the inode itself\n'));
  add('/small.bin', randomBytes(100, 5));
  for (let i = 0; i < 300; i++) writeFileSync(join(dir, 'many', `entry-with-a-longish-name-${i}`), '');
  add('/many/target.bin', randomBytes(20_000, 6));
  symlinkSync('disks/vm.img', join(dir, 'link'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  return { dir, files };
}

/** The kinds of filesystem the tests build, as mke2fs options. */
export const KINDS = {
  ext2: ['-t', 'ext2', '-b', '1024', '-I', '128'],
  ext3: ['-t', 'ext3', '-b', '4096'],
  ext4: ['-t', 'ext4', '-b', '4096'],
  'ext4-csum-inline': ['-t', 'ext4', '-b', '1024', '-O', '64bit,metadata_csum,inline_data'],
  'ext4-64k': ['-F', '-t', 'ext4', '-b', '65536'],
} as const satisfies Record<string, readonly string[]>;

export type Kind = keyof typeof KINDS;

/**
 * Makes `image` (`size`, e.g. 128M) of `kind` from the tree with mke2fs -d,
 * then has e2fsck -D index the directories (mke2fs -d writes them linear).
 */
export async function makeImage(image: string, kind: Kind, tree: Tree, size = '128M'): Promise<void> {
  await runOk('mke2fs', ['-q', ...KINDS[kind], '-E', 'nodiscard', '-d', tree.dir, image, size]);
  const r = await run('e2fsck', ['-fyD', image]);
  // 1: the filesystem was changed (the directories were indexed).
  if (r.status !== 0 && r.status !== 1) throw new Error(`e2fsck -fyD ${image} exited ${r.status}: ${r.stdout}${r.stderr}`);
}

/** Runs a debugfs request on an image and returns its output. */
export async function debugfs(image: string, request: string, write = false): Promise<string> {
  return (await runOk('debugfs', [...(write ? ['-w'] : []), '-R', request, image])).stdout;
}

/** Whether the file at `path` inside the image holds `expected`, through debugfs dump. */
export async function dumpEquals(image: string, path: string, out: string, expected: Buffer): Promise<boolean> {
  await debugfs(image, `dump ${path} ${out}`);
  return fileEquals(out, expected);
}

/** Runs e2fsck -fn and throws with its output unless the filesystem is clean. */
export async function fsck(image: string): Promise<void> {
  await runOk('e2fsck', ['-fn', image]);
}

/** One request of a replayed workload: `len` bytes at `off`, written from `data[pos...]` or zeroed. */
export interface Op {
  readonly kind: 'write' | 'zero';
  readonly off: number;
  readonly len: number;
  readonly fua: boolean;
  readonly pos: number;
}

/** A workload: its requests and the bytes they write. */
export interface Workload {
  readonly ops: Op[];
  readonly data: Buffer;
}

/**
 * `count` seeded random requests over a file of `size` bytes: writes of 1
 * byte to `maxLen` at any offset (some block-aligned), some with FUA, and
 * some zero requests.
 */
export function randomWorkload(seed: number, size: number, count: number, maxLen = 65536): Workload {
  const next = seededRandom(seed);
  const ops: Op[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const r = next();
    let off = Math.floor(next() * size);
    if (next() < 0.3) off -= off % 4096;
    const len = Math.max(1, Math.min(size - off, Math.floor(next() ** 2 * maxLen)));
    const kind = r < 0.1 ? 'zero' : 'write';
    ops.push({ kind, off, len, fua: r > 0.9, pos });
    if (kind === 'write') pos += len;
  }
  return { ops, data: randomBytes(Math.max(pos, 4), seed * 7919) };
}

/** Applies `w` to `contents` in place: what the file holds afterwards. */
export function applyWorkload(contents: Buffer, w: Workload): void {
  for (const op of w.ops) {
    if (op.kind === 'zero') contents.fill(0, op.off, op.off + op.len);
    else w.data.copy(contents, op.off, op.pos, op.pos + op.len);
  }
}

/**
 * Whether the file at `path` holds exactly `expected`. Reads through one
 * small buffer: fresh large buffers are slow to fault in on small machines.
 */
export function fileEquals(path: string, expected: Buffer): boolean {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    let at = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, at);
      if (n === 0) return at === expected.length;
      if (at + n > expected.length || !chunk.subarray(0, n).equals(expected.subarray(at, at + n))) return false;
      at += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes a workload to files that {@link replayScript} reads. */
export function saveWorkload(dir: string, name: string, w: Workload): { ops: string; data: string } {
  const ops = join(dir, `${name}.json`);
  const data = join(dir, `${name}.bin`);
  writeFileSync(ops, JSON.stringify(w.ops));
  writeFileSync(data, w.data);
  return { ops, data };
}

/** An nbdsh script that sends a saved workload, then flushes. */
export function replayScript(files: { ops: string; data: string }): string {
  return `
import json
ops = json.load(open(${JSON.stringify(files.ops)}))
data = open(${JSON.stringify(files.data)}, 'rb').read()
for op in ops:
    flags = nbd.CMD_FLAG_FUA if op['fua'] else 0
    if op['kind'] == 'zero':
        h.zero(op['len'], op['off'], flags)
    else:
        h.pwrite(data[op['pos']:op['pos'] + op['len']], op['off'], flags)
h.flush()
`;
}
