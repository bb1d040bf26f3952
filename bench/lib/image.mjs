// The test image and its page-cache state.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PAGE_CACHE = join(dirname(fileURLToPath(import.meta.url)), 'page_cache.py');

/** Parses 1G, 512M, 4096 (binary units). */
export function parseSize(option, text) {
  const m = /^(\d+)([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (m === null) throw new Error(`${option}=${text}: expected a size such as 1G, 512M or 1073741824`);
  const shift = { '': 0, K: 10, M: 20, G: 30, T: 40 }[m[2].toUpperCase()];
  const bytes = Number(m[1]) * 2 ** shift;
  if (bytes < 64 * 2 ** 20 || bytes % 4096 !== 0) throw new Error(`${option}=${text}: the image must be at least 64M and a multiple of 4096 bytes`);
  return bytes;
}

/** Writes an image of pseudo-random bytes: no holes, no zero blocks, so every read transfers data. */
export function createImage(path, bytes) {
  const fd = openSync(path, 'w');
  const chunk = Buffer.allocUnsafe(8 * 2 ** 20);
  try {
    for (let done = 0; done < bytes; done += chunk.length) {
      const n = Math.min(chunk.length, bytes - done);
      randomFillSync(chunk, 0, n);
      writeSync(fd, chunk, 0, n, done);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes back the image's dirty pages and brings it to the known page-cache
 * state (all resident, 4 KiB folios): always by dropping and re-reading it
 * (mode 'always'), or only when a check finds another state (mode 'check').
 * Returns what page_cache.py reports.
 */
export function preparePageCache(path, mode) {
  const r = spawnSync('python3', [PAGE_CACHE, 'prepare', path, mode], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`page_cache.py prepare ${path}: ${(r.stderr || r.error?.message || '').trim()}`);
  return JSON.parse(r.stdout);
}
