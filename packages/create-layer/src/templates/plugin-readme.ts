import type { Layer } from '../layer.js';
import { summary } from './package-json.js';
import { code, ending, install } from './readme-common.js';

/** `README.md` of a plugin: its manual. */
export function pluginReadme(layer: Layer): string {
  const { name, packageName } = layer;
  return `# ${packageName}

## NAME

\`${name}\` — an nbdkit-ts plugin that ${summary(layer)}

## SYNOPSIS

${code(`nbdkit-ts ${name} SIZE
nbdkit-ts ${name} size=SIZE`)}

${install(layer)}

## DESCRIPTION

The disk is \`SIZE\` bytes of memory, all zeroes when the server starts. Every connection reads
and writes the same memory, so what one client writes the others see at once, and the plugin
advertises multi-conn. What is written is lost when the server exits.

The memory is taken in one piece when the server starts; the system provides its pages as they
are first written, so a large disk costs only what is written to it. Flush does nothing (there
is nothing to make durable) and write zeroes clears the range. There is no block status beyond
"all data" and no trim.

With \`-r\` the disk is read-only: all zeroes.

## PARAMETERS

- \`size=SIZE\` (the bare word): the size of the disk, as \`1048576\`, \`64K\`, \`1M\`, \`2G\` or
  \`2048s\` (sectors of 512 bytes). Required; at most the largest piece of memory Node.js
  allocates at once.

## EXAMPLES

A 1 GiB RAM disk on \`nbd://localhost\`:

${code(`nbdkit-ts ${name} 1G`)}

Copy an image into memory, for as long as the command runs, and look at the export:

${code(`nbdkit-ts -U - ${name} 256M --run 'nbdcopy disk.img "$uri" && nbdinfo "$uri"'`)}

## ERRORS

At startup (exit status 1):

- \`size=VALUE: expected a size such as 1048576, 64K, 1M or 2G\`.
- \`size=VALUE: size is too large\`.
- \`size=VALUE: the disk must fit in one piece of memory (at most N bytes)\`.
- \`no size given: nbdkit-ts ${name} SIZE\`.

While serving, requests do not fail: the server checks each one before it reaches the plugin.

${ending(layer, "nbdkit's `nbdkit-plugin(3)` and `nbdkit-memory-plugin(1)`.")}`;
}
