#!/usr/bin/env node
// Copies 64 MiB from a disk 20 ms away (--filter=delay delay-read=20ms), one 1 MiB request at a
// time, with and without --filter=readahead --filter=cache in front, through nbdkit-ts and
// through nbdkit (C), in interleaved rounds; prints the median of each and the ratios.
//
//   node bench/readahead.mjs [ROUNDS]      (default 7)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const rounds = Number(process.argv[2] ?? 7);
const cli = fileURLToPath(new URL('../packages/server/dist/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bench-readahead-'));
const image = join(dir, 'disk.img');
const out = join(dir, 'out.img');
writeFileSync(image, randomBytes(64 << 20));
const env = { ...process.env, PATH: `/usr/bin:${process.env.PATH}` };

// The URI goes to bash as $1: nbdkit 1.32 does not export $uri to the command's children.
const run = `bash -c 'TIMEFORMAT=%R; time nbdcopy --connections=1 --requests=1 --request-size=1048576 "$1" ${out}' _ "$uri"`;
const stacks = {
  'delay': ['--filter=delay'],
  'readahead+cache+delay': ['--filter=readahead', '--filter=cache', '--filter=delay'],
};
const servers = {
  'nbdkit-ts': (filters) => [process.execPath, [cli, '-U', '-', ...filters, 'file', image, 'delay-read=20ms', '--run', run]],
  'nbdkit 1.32': (filters) => ['nbdkit', ['-U', '-', ...filters, 'file', image, 'delay-read=20ms', '--run', run]],
};

/** Seconds the copy took: bash's `time` prints them last on stderr. */
function once(cmd, args) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return Number(r.stderr.trim().split('\n').at(-1));
}

const times = {};
for (let i = 0; i < rounds; i++) {
  for (const [server, argv] of Object.entries(servers)) {
    for (const [stack, filters] of Object.entries(stacks)) {
      (times[`${server}: ${stack}`] ??= []).push(once(...argv(filters)));
      rmSync(out, { force: true });
    }
  }
}
rmSync(dir, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const model = /^Model name:\s*(.+)$/m.exec(spawnSync('lscpu', [], { encoding: 'utf8', env: { ...env, LC_ALL: 'C' } }).stdout)?.[1];
console.log(`CPU: ${model}; ${rounds} rounds; load average at the end: ${spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim()}`);
for (const [name, xs] of Object.entries(times)) console.log(`${name.padEnd(40)} median ${median(xs).toFixed(3)} s   (${xs.map((x) => x.toFixed(2)).join(' ')})`);
for (const server of Object.keys(servers)) {
  const ratio = median(times[`${server}: readahead+cache+delay`]) / median(times[`${server}: delay`]);
  console.log(`${server}: readahead+cache+delay / delay = ${ratio.toFixed(2)}`);
}
