import type { Layer } from '../layer.js';
import type { Dependency } from '../ranges.js';

/** What the package does, in one line: package.json's description and the layer's. */
export const summary = ({ kind }: Layer): string =>
  kind === 'filter' ? 'passes every request through to the layer beneath' : 'serves a disk in memory, of the size given, shared by every connection';

/** `package.json`: the shape the server looks for (ESM, a default export condition, core as a peer). */
export function packageJson(layer: Layer): string {
  const { kind, name, packageName, ranges } = layer;
  const devDependencies: Dependency[] = [
    '@nbdkit-ts/core',
    // A plugin for trying the filter on: `nbdkit-ts --filter=./dist/index.js memory 1M`.
    ...(kind === 'filter' ? (['@nbdkit-ts/plugin-memory'] as const) : []),
    '@nbdkit-ts/server',
    '@nbdkit-ts/testing',
    '@types/node',
    'typescript',
    'vitest',
  ];
  const manifest = {
    name: packageName,
    version: '1.0.0',
    description: `nbdkit-ts ${kind} ${name}: ${summary(layer)}`,
    keywords: ['nbdkit-ts', `nbdkit-ts-${kind}`, 'nbd'],
    license: 'BSD-3-Clause',
    type: 'module',
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    files: ['dist', 'README.md'],
    engines: { node: ranges.node },
    scripts: {
      build: 'tsc -p tsconfig.build.json',
      typecheck: 'tsc -p tsconfig.json --noEmit',
      test: 'vitest run',
      prepack: 'npm run build',
    },
    peerDependencies: { '@nbdkit-ts/core': ranges.versions['@nbdkit-ts/core'] },
    devDependencies: Object.fromEntries(devDependencies.map((dep) => [dep, ranges.versions[dep]])),
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
