import type { Layer } from '../layer.js';

/** A fenced code block. */
export const code = (text: string): string => `\`\`\`\n${text}\n\`\`\``;

/** The install line under SYNOPSIS. */
export const install = ({ packageName }: Layer): string =>
  `Install: \`npm i ${packageName}\` next to \`@nbdkit-ts/server\` (or globally beside it:
\`npm i -g @nbdkit-ts/server ${packageName}\`).`;

/** The end of the manual: SEE ALSO's first-party packages, then how to build, test and publish the package. */
export const ending = (layer: Layer, seeAlso: string): string => `## SEE ALSO

[\`@nbdkit-ts/server\`](https://www.npmjs.com/package/@nbdkit-ts/server), the \`nbdkit-ts\` command;
[\`@nbdkit-ts/core\`](https://www.npmjs.com/package/@nbdkit-ts/core), the API of layers;
[\`@nbdkit-ts/testing\`](https://www.npmjs.com/package/@nbdkit-ts/testing), the conformance suite;
${seeAlso}

## BUILDING AND TESTING

${code(`npm install
npm run build        # src/ into dist/, which is what the server loads
npm test             # test/: the conformance suite, against the real server
npm publish          # builds first (prepack), then ships dist/ and this README`)}

The tests drive the server with nbdsh (Debian and Ubuntu:
\`apt install libnbd-bin python3-libnbd\`). Before the package is installed anywhere, the server
loads the ${layer.kind} by path:
${layer.kind === 'filter' ? '`npx nbdkit-ts --filter=./dist/index.js memory 1M`' : '`npx nbdkit-ts ./dist/index.js 1M`'}.
`;
