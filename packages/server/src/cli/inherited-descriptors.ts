import { readdirSync, readlinkSync } from 'node:fs';

/**
 * The descriptors above 2 this process was given by its parent, as far as
 * Linux's /proc tells them apart from Node.js's own (event loop, pipes): those
 * open on a file, a directory, a device or a socket (`fd=`, `dirfd=`). None
 * where /proc is missing.
 */
export function inheritedDescriptors(): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const fds: number[] = [];
  for (const entry of entries) {
    const fd = Number(entry);
    if (fd <= 2) continue;
    try {
      const target = readlinkSync(`/proc/self/fd/${entry}`);
      if (target.startsWith('/') || target.startsWith('socket:')) fds.push(fd);
    } catch {
      // Closed since the listing (the listing's own descriptor among them).
    }
  }
  return fds.sort((a, b) => a - b);
}

/**
 * The stdio of a copy of this process: standard input kept, standard output
 * dropped, standard error kept or dropped, every inherited descriptor at its
 * own number, and the IPC channel at the first number none of them uses.
 */
export function childStdio(keepStderr: boolean, inherited: readonly number[]): ('inherit' | 'ignore' | 'ipc' | number)[] {
  const stdio: ('inherit' | 'ignore' | 'ipc' | number)[] = ['inherit', 'ignore', keepStderr ? 'inherit' : 'ignore'];
  for (const fd of inherited) {
    while (stdio.length < fd) stdio.push('ignore');
    stdio[fd] = fd;
  }
  stdio.push('ipc');
  return stdio;
}
