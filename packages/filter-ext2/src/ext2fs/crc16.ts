/**
 * CRC16 (polynomial 0x8005, reflected as 0xa001), which ext4 uses for group
 * descriptor checksums on filesystems with `uninit_bg` (gdt_csum) and without
 * metadata_csum.
 */

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** Continues a CRC16 over `data` from `crc`. */
export function crc16Update(crc: number, data: Uint8Array): number {
  let c = crc & 0xffff;
  for (const byte of data) c = ((c >>> 8) ^ (TABLE[(c ^ byte) & 0xff] as number)) & 0xffff;
  return c;
}
