import { opendirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { nbdError, type ExportInfo } from '@nbdkit-ts/core';

/** Whether a directory entry is a regular file or block device, following symbolic links. */
function servable(dir: string, entry: Dirent): boolean {
  if (entry.isFile() || entry.isBlockDevice()) return true;
  if (entry.isDirectory() || entry.isFIFO() || entry.isSocket() || entry.isCharacterDevice()) return false;
  // A symbolic link, or a file system that does not report types: ask stat.
  try {
    const st = statSync(join(dir, entry.name));
    return st.isFile() || st.isBlockDevice();
  } catch {
    return false;
  }
}

/**
 * `dir=`: the exports are the regular files and block devices in the
 * directory, in the directory's own order (readdir's, as nbdkit lists them).
 */
export function listDirectory(dir: string): ExportInfo[] {
  const exports: ExportInfo[] = [];
  const d = opendirSync(dir);
  try {
    for (let entry = d.readSync(); entry !== null; entry = d.readSync()) if (servable(dir, entry)) exports.push({ name: entry.name });
  } finally {
    d.closeSync();
  }
  return exports;
}

/**
 * The path of export `name` in `dir`: the name must be a plain file name
 * there (no `/`), naming a regular file or block device. Throws EINVAL or
 * ENOENT with a message for the client otherwise.
 */
export function exportPath(dir: string, name: string): string {
  if (name === '') {
    throw nbdError('EINVAL', `dir=${dir} serves the files in it: give one as the export name (nbdinfo --list shows them)`);
  }
  if (name.includes('/')) throw nbdError('EINVAL', `export name "${name}" must not contain "/": dir= serves only the files directly in ${dir}`);
  if (name.includes('\0') || name === '.' || name === '..') throw nbdError('EINVAL', `export name "${name}" is not a file name`);
  const path = join(dir, name);
  let st;
  try {
    st = statSync(path);
  } catch {
    throw nbdError('ENOENT', `no export "${name}": there is no such file in ${dir}`);
  }
  if (!st.isFile() && !st.isBlockDevice()) throw nbdError('EINVAL', `export "${name}" is not a regular file or block device`);
  return path;
}
