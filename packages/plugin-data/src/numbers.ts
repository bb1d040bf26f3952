/**
 * Parses a number as the data language writes it: decimal, octal with a
 * leading 0, hexadecimal with 0x. Returns undefined for anything else.
 */
export function parseNumber(text: string): bigint | undefined {
  if (/^0x[0-9a-f]+$/i.test(text)) return BigInt(text);
  if (/^0[0-7]*$/.test(text)) return BigInt(`0o${text.slice(1) || '0'}`);
  if (/^[1-9][0-9]*$/.test(text)) return BigInt(text);
  return undefined;
}
