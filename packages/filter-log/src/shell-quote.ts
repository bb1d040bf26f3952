/** Characters a word may have and still be written without quotes (nbdkit's list). */
const SAFE = /^[A-Za-z0-9.\-_=,:/]+$/;

/**
 * Quotes `text` for the shell as nbdkit's log does: as it is when every
 * character is safe, otherwise between double quotes with `$`, backquote,
 * backslash and `"` escaped. The empty string is `""`.
 */
export function shellQuote(text: string): string {
  return SAFE.test(text) ? text : `"${text.replace(/[$`\\"]/g, '\\$&')}"`;
}
