/**
 * Writes the inverse of every byte of `from` (the byte XOR 0xff: each bit
 * flipped) to the same place in `to`, which is as long as `from` and may be
 * `from` itself. Inverting twice gives the bytes back.
 */
export function invert(from: Uint8Array, to: Uint8Array): void {
  for (let i = 0; i < from.length; i++) to[i] = (from[i] as number) ^ 0xff;
}
