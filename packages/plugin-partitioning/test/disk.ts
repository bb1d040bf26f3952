import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliPath, runOk, seededRandom, TEST_PATH } from '@nbdkit-ts/testing';

export const PLUGIN = fileURLToPath(new URL('../dist/index.js', import.meta.url));
export const MiB = 1024 * 1024;

/** Throws, naming the Debian packages to install, unless every tool of `tools` (tool: package) is on PATH. */
export function requireTools(tools: Readonly<Record<string, string>>): void {
  const missing = Object.keys(tools).filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { env: { PATH: TEST_PATH } }).status !== 0);
  if (missing.length > 0) throw new Error(`these tests need ${missing.join(', ')}: install the Debian packages ${[...new Set(missing.map((t) => tools[t]))].join(' ')}`);
}

/** `size` bytes made from `seed`, none of them zero. */
export function content(size: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = 1 + Math.floor(random() * 255);
  return data;
}

/** Writes `size` bytes of content (seeded by `size`) to `dir/name`, and gives its path. */
export function makeFile(dir: string, name: string, size: number): string {
  const path = join(dir, name);
  writeFileSync(path, content(size, size));
  return path;
}

/**
 * Serves `args` with nbdkit-ts (or nbdkit, `PLUGIN` then standing for its own
 * partitioning plugin), copies the whole disk to `out` with nbdcopy, and gives
 * its bytes.
 */
export async function copyDisk(server: 'nbdkit-ts' | 'nbdkit', args: readonly string[], out: string, options: { cwd?: string } = {}): Promise<Buffer> {
  const [cmd, ...rest]: [string, ...string[]] = server === 'nbdkit' ? ['nbdkit'] : [process.execPath, cliPath()];
  const layer = server === 'nbdkit' ? 'partitioning' : PLUGIN;
  await runOk(cmd, [...rest, '-U', '-', layer, ...args, '--run', `nbdcopy "$uri" ${JSON.stringify(out)}`], options);
  return readFileSync(out);
}

/** A partition as sfdisk --json tells it. */
export interface SfdiskPartition {
  readonly node: string;
  readonly start: number;
  readonly size: number;
  readonly type: string;
  readonly uuid?: string;
  readonly name?: string;
  readonly bootable?: boolean;
  readonly attrs?: string;
}

/** What sfdisk --json reads in the partition table of `image`. */
export async function sfdisk(image: string): Promise<{ label: string; partitions: SfdiskPartition[] }> {
  const { stdout } = await runOk('sfdisk', ['--json', image]);
  return (JSON.parse(stdout) as { partitiontable: { label: string; partitions: SfdiskPartition[] } }).partitiontable;
}
