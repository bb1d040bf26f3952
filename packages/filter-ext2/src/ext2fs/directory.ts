/** One directory entry. */
export interface DirEntry {
  readonly ino: number;
  readonly name: Uint8Array;
}

/**
 * Decodes `rec_len`. In blocks of 64 KiB the value 65536 does not fit in 16
 * bits and is stored as 0 or 65535, and the low two bits carry bits 16-17.
 */
export function recLen(raw: number, blockSize: number): number {
  if (blockSize < 65536) return raw;
  if (raw === 65535 || raw === 0) return blockSize;
  return (raw & 65532) | ((raw & 3) << 16);
}

/**
 * The live entries of a run of directory entries (one directory block, or
 * the inline area of a directory). Entries with inode 0 (deleted ones,
 * checksum tails, htree nodes) are skipped; a malformed `rec_len` ends the
 * run.
 */
export function* dirEntries(buf: Uint8Array, blockSize: number): Generator<DirEntry> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (at + 8 <= buf.length) {
    const ino = view.getUint32(at, true);
    const len = recLen(view.getUint16(at + 4, true), blockSize);
    const nameLen = buf[at + 6] as number;
    if (len < 8 || at + len > buf.length || 8 + nameLen > len) return;
    if (ino !== 0) yield { ino, name: buf.subarray(at + 8, at + 8 + nameLen) };
    at += len;
  }
}

/** Whether a name equals the bytes of `name` (UTF-8). */
export function nameEquals(entry: DirEntry, name: Uint8Array): boolean {
  if (entry.name.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (entry.name[i] !== name[i]) return false;
  return true;
}
