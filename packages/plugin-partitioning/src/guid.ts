import { randomBytes } from 'node:crypto';

/** The partition type GUID of a Linux filesystem, the default of `type-guid=`. */
export const LINUX_FILESYSTEM_GUID = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';

const GUID = /^\{?([\da-f]{8})-([\da-f]{4})-([\da-f]{4})-([\da-f]{4})-([\da-f]{12})\}?$/i;

/**
 * The 16 bytes a GUID such as `0FC63DAF-8483-4772-8E79-3D69D8477DE4` (or the
 * same in braces) has on disk in GPT: its first three groups little-endian, the
 * last two as written. Undefined when `text` is not a GUID.
 */
export function parseGuid(text: string): Buffer | undefined {
  const m = GUID.exec(text);
  if (m === null || text.startsWith('{') !== text.endsWith('}')) return undefined;
  const [, a = '', b = '', c = '', d = '', e = ''] = m;
  const hex = (s: string) => Buffer.from(s, 'hex');
  return Buffer.concat([hex(a).reverse(), hex(b).reverse(), hex(c).reverse(), hex(d), hex(e)]);
}

/** A random (version 4) GUID, as GPT stores it. */
export function randomGuid(): Buffer {
  const guid = randomBytes(16);
  guid.writeUInt8((guid.readUInt8(7) & 0x0f) | 0x40, 7); // the version, in the third group, stored little-endian
  guid.writeUInt8((guid.readUInt8(8) & 0x3f) | 0x80, 8); // the variant
  return guid;
}
