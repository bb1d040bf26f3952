/** Zeroes to compare data with, a chunk at a time. */
const ZEROES = new Uint8Array(64 * 1024);

/** Whether every byte of `data` is zero (true when it is empty). */
export function isZero(data: Uint8Array): boolean {
  for (let at = 0; at < data.length; at += ZEROES.length) {
    const chunk = data.subarray(at, at + ZEROES.length);
    if (Buffer.compare(chunk, ZEROES.subarray(0, chunk.length)) !== 0) return false;
  }
  return true;
}
