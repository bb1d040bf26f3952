/**
 * Reverses the order of the bytes of each `word`-byte word of `data`, in
 * place. `word` is 2, 4 or 8 and divides the length of `data`.
 */
export function swapWords(data: Uint8Array, word: number): void {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (word === 2) bytes.swap16();
  else if (word === 4) bytes.swap32();
  else bytes.swap64();
}
