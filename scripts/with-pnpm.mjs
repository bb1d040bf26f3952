#!/usr/bin/env node
// Runs pnpm 12.4.2 with the given arguments: the one on PATH when it is that
// version, otherwise through `npx` (corepack is not needed).
import { spawnSync } from 'node:child_process';

const WANTED = '12.4.2';
const args = process.argv.slice(2);
const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
const local = probe.status === 0 && probe.stdout.trim() === WANTED;
const [cmd, cmdArgs] = local ? ['pnpm', args] : ['npx', ['--yes', `pnpm@${WANTED}`, ...args]];
const run = spawnSync(cmd, cmdArgs, { stdio: 'inherit' });
process.exit(run.status ?? 1);
