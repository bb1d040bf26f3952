import { spawn } from 'node:child_process';

/**
 * Runs `text` with bash (the log's variables include bash arrays), its
 * standard output and error the server's. Resolves once it has exited, with
 * why it failed (a status other than 0, a signal, or why it could not
 * start), or undefined when it succeeded.
 */
export function runLogScript(text: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', text], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (e) => resolve(`cannot run bash: ${e.message}`));
    child.on('close', (status, signal) => {
      if (status === 0) resolve(undefined);
      else resolve(status === null ? `killed by ${signal ?? 'a signal'}` : `exited with status ${status}`);
    });
  });
}
