import type { Layer } from '../layer.js';
import { summary } from './package-json.js';
import { code, ending, install } from './readme-common.js';

/** `README.md` of a filter: its manual. */
export function filterReadme(layer: Layer): string {
  const { name, packageName } = layer;
  return `# ${packageName}

## NAME

\`${name}\` — an nbdkit-ts filter that ${summary(layer)}

## SYNOPSIS

${code(`nbdkit-ts --filter=${name} PLUGIN [PLUGIN PARAMETERS...] [${name}-log=true|false]`)}

${install(layer)}

## DESCRIPTION

Every request — read, write, flush, trim, write zeroes, block status, cache — goes on unchanged
to the layer beneath, and the export has the size and the capabilities of the layer beneath.
Export names, the export list and the client's read-only state pass through too.

With \`${name}-log=true\` the filter logs a line as each connection opens, with the export name
the client asked for and whether the connection is read-only.

The filter keeps no state besides its parameter and takes any concurrency (\`parallel\`).

## PARAMETERS

- \`${name}-log=true|false\`: log each connection as it opens (default false). Also yes/no,
  on/off, 1/0.

## EXAMPLES

Serve a disk image through the filter:

${code(`nbdkit-ts --filter=${name} file disk.img`)}

Log each connection, on a 1 GiB RAM disk, and look at the export with nbdinfo:

${code(`nbdkit-ts -U - --filter=${name} memory 1G ${name}-log=true --run 'nbdinfo "$uri"'`)}

## ERRORS

At startup (exit status 1):

- \`${name}-log=VALUE: expected a boolean (yes/no, true/false, on/off, 1/0)\`.

While serving, errors of the layer beneath pass through with their codes.

${ending(layer, "nbdkit's `nbdkit-filter(3)`.")}`;
}
