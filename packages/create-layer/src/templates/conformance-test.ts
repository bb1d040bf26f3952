import type { Layer } from '../layer.js';

/** `test/conformance.test.ts`: the testing kit's conformance suite on the built layer. */
export const conformanceTest = ({ kind, name }: Layer): string =>
  kind === 'filter'
    ? `import { testFilter } from '@nbdkit-ts/testing/conformance';

// The contract every filter keeps, checked against the real server and nbdsh, with the filter
// on the testing kit's memory plugin (16 MiB). Build first: the suite loads dist/.
testFilter({ title: '${name}', filter: new URL('../dist/index.js', import.meta.url), params: ['${name}-log=true'] });
`
    : `import { testPlugin } from '@nbdkit-ts/testing/conformance';

// The contract every plugin keeps, checked against the real server and nbdsh. Build first: the
// suite loads dist/.
testPlugin({ title: '${name}', plugin: new URL('../dist/index.js', import.meta.url), params: ['size=16M'] });
`;
