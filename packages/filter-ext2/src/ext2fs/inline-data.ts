import { nbdError } from '@nbdkit-ts/core';
import { GOOD_OLD_INODE_SIZE, I_BLOCK_OFFSET, I_BLOCK_SIZE, type Inode } from './inode.js';

const XATTR_MAGIC = 0xea020000;
/** `system.` attributes have name index 7; inline data lives in `system.data`. */
const SYSTEM_INDEX = 7;
const DATA_NAME = 'data';
const ENTRY_HEADER = 16;

/** Where the part of inline data beyond `i_block` is stored: the `system.data` attribute in the inode body. */
interface DataAttribute {
  /** Offset in the inode of the entry. */
  readonly entry: number;
  /** Offset in the inode of the value. */
  readonly value: number;
  readonly size: number;
}

/**
 * Inline data (ext4 `inline_data`): a small file's bytes live in the inode,
 * the first 60 in `i_block` and the rest in the `system.data` extended
 * attribute in the inode body. Reads and in-place overwrites.
 */
export class InlineData {
  private readonly attr: DataAttribute | undefined;

  constructor(private readonly inode: Inode) {
    this.attr = findDataAttribute(inode);
  }

  /** Bytes the inode can hold: `i_block` and the attribute's value. */
  get capacity(): number {
    return I_BLOCK_SIZE + (this.attr?.size ?? 0);
  }

  /** The 60 bytes of `i_block` then the attribute value, as one list of views. */
  private parts(): Uint8Array[] {
    const { bytes } = this.inode;
    const parts = [bytes.subarray(I_BLOCK_OFFSET, I_BLOCK_OFFSET + I_BLOCK_SIZE)];
    if (this.attr !== undefined) parts.push(bytes.subarray(this.attr.value, this.attr.value + this.attr.size));
    return parts;
  }

  /** Copies between `buf` and the inline bytes at `offset`, in the direction given. */
  private copy(buf: Uint8Array, offset: number, toInode: boolean): void {
    if (offset + buf.length > this.capacity) {
      throw nbdError('EIO', `inode ${this.inode.ino}: inline data holds ${this.capacity} bytes, access ends at ${offset + buf.length}`);
    }
    let base = 0;
    for (const part of this.parts()) {
      const from = Math.max(offset, base);
      const to = Math.min(offset + buf.length, base + part.length);
      if (from < to) {
        if (toInode) part.set(buf.subarray(from - offset, to - offset), from - base);
        else buf.set(part.subarray(from - base, to - base), from - offset);
      }
      base += part.length;
    }
  }

  read(buf: Uint8Array, offset: number): void {
    this.copy(buf, offset, false);
  }

  /** Changes the inode's copy (the caller stores the inode). Keeps the attribute's hash right. */
  write(buf: Uint8Array, offset: number): void {
    this.copy(buf, offset, true);
    const attr = this.attr;
    if (attr === undefined) return;
    const view = new DataView(this.inode.bytes.buffer, this.inode.bytes.byteOffset);
    if (view.getUint32(attr.entry + 12, true) !== 0) view.setUint32(attr.entry + 12, attributeHash(this.inode.bytes, attr), true);
  }

  /** All the inline bytes (for directories). */
  all(): Uint8Array {
    const out = new Uint8Array(this.capacity);
    this.read(out, 0);
    return out;
  }
}

function findDataAttribute(inode: Inode): DataAttribute | undefined {
  const { bytes } = inode;
  if (bytes.length <= GOOD_OLD_INODE_SIZE) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = GOOD_OLD_INODE_SIZE + inode.extraIsize;
  if (start + 4 > bytes.length || view.getUint32(start, true) !== XATTR_MAGIC) return undefined;
  const first = start + 4;
  let at = first;
  while (at + ENTRY_HEADER <= bytes.length && view.getUint32(at, true) !== 0) {
    const nameLen = bytes[at] as number;
    const index = bytes[at + 1] as number;
    const valueOffs = view.getUint16(at + 2, true);
    const valueInum = view.getUint32(at + 4, true);
    const size = view.getUint32(at + 8, true);
    const name = new TextDecoder().decode(bytes.subarray(at + ENTRY_HEADER, at + ENTRY_HEADER + nameLen));
    if (index === SYSTEM_INDEX && name === DATA_NAME && valueInum === 0) {
      const value = first + valueOffs;
      if (value + size > bytes.length) throw nbdError('EIO', `inode ${inode.ino}: inline data attribute runs past the inode`);
      return { entry: at, value, size };
    }
    at += (ENTRY_HEADER + nameLen + 3) & ~3;
  }
  return undefined;
}

/** The hash of an extended attribute entry: over its name, then its value in 32-bit words. */
function attributeHash(bytes: Uint8Array, attr: DataAttribute): number {
  let hash = 0;
  const nameLen = bytes[attr.entry] as number;
  for (let i = 0; i < nameLen; i++) {
    const c = ((bytes[attr.entry + ENTRY_HEADER + i] as number) << 24) >> 24;
    hash = ((hash << 5) ^ (hash >>> 27) ^ c) >>> 0;
  }
  const padded = new Uint8Array((attr.size + 3) & ~3);
  padded.set(bytes.subarray(attr.value, attr.value + attr.size));
  const view = new DataView(padded.buffer);
  for (let i = 0; i < padded.length; i += 4) hash = ((hash << 16) ^ (hash >>> 16) ^ view.getUint32(i, true)) >>> 0;
  return hash;
}
