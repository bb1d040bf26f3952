import { ExtentType, Flag, nbdError, parseSize, type Extent, type ExportInfo, type Flags } from '@nbdkit-ts/core';

/** The flags of a data call as the script sees them: `fua`, `may_trim`, `req_one`, `fast`, comma-separated. */
export function flagWords(flags: Flags): string {
  const words: string[] = [];
  if (flags & Flag.FUA) words.push('fua');
  if (flags & Flag.MAY_TRIM) words.push('may_trim');
  if (flags & Flag.REQ_ONE) words.push('req_one');
  if (flags & Flag.FAST_ZERO) words.push('fast');
  return words.join(',');
}

/**
 * Reads what list_exports (or default_export) printed. The first line may
 * say how the rest is laid out: `NAMES` (a name a line, also what no such
 * line means), `INTERLEAVED` (name, description, name, ...) or
 * `NAMES+DESCRIPTIONS` (the names, then their descriptions).
 */
export function parseExports(output: string): ExportInfo[] {
  const lines = output.split('\n');
  // Each entry ends with a newline: what follows the last one is not an entry.
  if (lines.at(-1) === '') lines.pop();
  const mode = lines[0];
  if (mode === 'INTERLEAVED') {
    const rest = lines.slice(1);
    const exports: ExportInfo[] = [];
    for (let i = 0; i < rest.length; i += 2) exports.push(exportInfo(rest[i] as string, rest[i + 1]));
    return exports;
  }
  if (mode === 'NAMES+DESCRIPTIONS') {
    const rest = lines.slice(1);
    const half = Math.ceil(rest.length / 2);
    return rest.slice(0, half).map((name, i) => exportInfo(name, rest[half + i]));
  }
  return (mode === 'NAMES' ? lines.slice(1) : lines).map((name) => ({ name }));
}

/** An export; an empty description is none. */
function exportInfo(name: string, description: string | undefined): ExportInfo {
  return description === undefined || description === '' ? { name } : { name, description };
}

/**
 * Reads what extents printed: a line per extent, `OFFSET LENGTH [TYPE]`, the
 * sizes as nbdkit parses them (`1M`), the type a number or words containing
 * `hole` and `zero` (none: data).
 */
export function parseExtents(output: string): Extent[] {
  const lines = output.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => {
    const [offset, length, type] = line.trim().split(/[ \t]+/);
    if (offset === undefined || offset === '' || length === undefined) throw nbdError('EIO', `extents: cannot parse ${line}`);
    return { offset: size(offset, line), length: size(length, line), type: extentType(type) };
  });
}

function size(word: string, line: string): bigint {
  try {
    return parseSize('extents', word);
  } catch {
    throw nbdError('EIO', `extents: cannot parse ${line}`);
  }
}

function extentType(word: string | undefined): number {
  if (word === undefined) return ExtentType.DATA;
  if (/^\d+$/.test(word)) return Number(word) & (ExtentType.HOLE | ExtentType.ZERO);
  return (word.includes('hole') ? ExtentType.HOLE : 0) | (word.includes('zero') ? ExtentType.ZERO : 0);
}
