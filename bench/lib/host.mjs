// What a run was measured on: the host's CPU, the software, the build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The first line a command prints (stdout, else stderr), or '' when it cannot run. */
export function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (r.stdout || r.stderr || '').trim().split('\n')[0];
}

/**
 * The CPU model: lscpu's "Model name" (/proc/cpuinfo's "model name" where
 * lscpu is missing), so that figures from one host are never read as another's.
 */
export function cpuModel() {
  const lscpu = spawnSync('lscpu', [], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  const fromLscpu = /^Model name:\s*(.+)$/m.exec(lscpu.stdout ?? '');
  if (fromLscpu !== null) return fromLscpu[1].trim();
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'latin1'))?.[1].trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** When the newest file of the packages' dist/ folders was written (ISO time). */
export function distBuilt(repo, packages) {
  let newest = 0;
  for (const pkg of packages) {
    const dir = join(repo, 'packages', pkg, 'dist');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir, { recursive: true })) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
  }
  return new Date(newest).toISOString();
}
