/** The CRC-32 lookup table (polynomial 0xEDB88320, reflected), one entry per byte value. */
const TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/**
 * The CRC-32 of `data`, as GPT headers carry it (the same CRC as zlib's and
 * Ethernet's). Written here because node:zlib has `crc32` only from Node 20.15.
 */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = (TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
