#!/usr/bin/env node
// Rewrites a compiled entry module (and every module of its own package it imports) as one
// file in its place, for start-up: Node 20 charges each ES module it loads about 0.7 ms
// of CPU, whatever its size. Modules imported with import() become files of their own
// beside it (NAME.chunk.js), loaded when asked for. Imports of other packages and of
// Node's built-in modules stay imports: a package every layer must share, such as
// @nbdkit-ts/core, is never copied into another.
//
//   node scripts/bundle.mjs ENTRY
//
// Run by a package's build after tsc, from the package's folder; ENTRY is relative to it
// (dist/index.js). Its hashbang line is kept; a source map is written beside it.
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { rolldown } from 'rolldown';

const { positionals } = parseArgs({ allowPositionals: true });
if (positionals.length !== 1) {
  console.error('usage: node scripts/bundle.mjs ENTRY');
  process.exit(2);
}
const entry = resolve(positionals[0]);
/** Whether an import names a module of another package or a built-in one, rather than a file of this one. */
const external = (id) => !id.startsWith('.') && !isAbsolute(id);

const bundle = await rolldown({ input: entry, external, platform: 'node', logLevel: 'warn' });
await bundle.write({ dir: dirname(entry), format: 'esm', sourcemap: true, entryFileNames: '[name].js', chunkFileNames: '[name].chunk.js' });
await bundle.close();
