import { spawn } from 'node:child_process';
import { errorMessage, type Logger } from '@nbdkit-ts/core';
import { MAX_NBD_STRING, type DescriptionMode } from './settings.js';

/**
 * The description an export gets under `mode`, given the one the layer
 * beneath gives it (`beneath`, asked only under `keep`). A script is run
 * with /bin/sh, `$name` set to the export name; what it prints, less one
 * final newline and cut to what NBD carries, is the description. A script
 * that cannot run or exits with a status other than 0 gives none, and the
 * reason is logged.
 */
export async function describeExport(mode: DescriptionMode, name: string, beneath: () => Promise<string | undefined>, log: Logger): Promise<string | undefined> {
  switch (mode.mode) {
    case 'keep':
      return beneath();
    case 'none':
      return undefined;
    case 'fixed':
      return mode.text;
    case 'script':
      try {
        return await runScript(mode.script, name);
      } catch (e) {
        log.warn(`exportdesc script for export "${name}": ${errorMessage(e)}`);
        return undefined;
      }
  }
}

function runScript(script: string, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], { env: { ...process.env, name }, stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      if (status !== 0) reject(new Error(status === null ? `killed by ${signal ?? 'a signal'}` : `exited with status ${status}`));
      // A streaming decode leaves out a character the cut split.
      else resolve(new TextDecoder().decode(Buffer.concat(out).subarray(0, MAX_NBD_STRING), { stream: true }).replace(/\n$/, ''));
    });
  });
}
