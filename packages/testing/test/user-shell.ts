// What the packaging and registry tests share: the repository's pnpm, the release the pending
// changesets would cut, and a shell that runs commands as a user would.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunOptions, type RunResult } from '@nbdkit-ts/testing';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The repository's own pnpm (a dev dependency of the root), so no global one is needed. */
export const PNPM = join(ROOT, 'node_modules', '.bin', 'pnpm');

/**
 * From scripts/check-release.mjs: `versionCopy` copies the repository into `dir` and applies
 * `changeset version` there; `workspaceManifests` reads the package.json of each package.
 */
export const { versionCopy, workspaceManifests } = (await import(join(ROOT, 'scripts', 'check-release.mjs'))) as {
  versionCopy: (root: string, dir: string) => string;
  workspaceManifests: (root: string) => { name: string; version: string; private?: boolean }[];
};

/** Runs commands as a user would: no shell. */
export interface UserShell {
  readonly sh: (cmd: string, args: readonly string[], options?: RunOptions) => Promise<RunResult>;
  /** As `sh`, and throws with the output unless the command exits 0. */
  readonly shOk: (cmd: string, args: readonly string[], options?: RunOptions) => Promise<RunResult>;
}

/**
 * A shell whose environment is the test's without the test runner's package-manager settings,
 * with npm's and pnpm's caches in `dir`, and `env` added.
 */
export function userShell(dir: string, env: NodeJS.ProcessEnv = {}): UserShell {
  const keep = (k: string) => !/^(PATH$|npm_|NPM_|pnpm_|PNPM_|NODE_PATH$|NODE_OPTIONS$|VITEST|INIT_CWD$)/.test(k);
  const base = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => keep(k))),
    npm_config_cache: join(dir, 'npm-cache'),
    npm_config_update_notifier: 'false',
    XDG_CACHE_HOME: join(dir, 'cache'),
    ...env,
  };
  const sh = (cmd: string, args: readonly string[], options: RunOptions = {}) => run(cmd, args, { ...options, inheritEnv: false, env: { ...base, ...options.env } });
  const shOk = async (cmd: string, args: readonly string[], options: RunOptions = {}) => {
    const r = await sh(cmd, args, options);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  return { sh, shOk };
}
