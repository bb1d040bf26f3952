import type { Layer } from '../layer.js';
import { conformanceTest } from './conformance-test.js';
import { filterIndex } from './filter-index.js';
import { filterReadme } from './filter-readme.js';
import { gitignore } from './gitignore.js';
import { packageJson } from './package-json.js';
import { pluginIndex } from './plugin-index.js';
import { pluginReadme } from './plugin-readme.js';
import { tsconfigBuildJson } from './tsconfig-build-json.js';
import { tsconfigJson } from './tsconfig-json.js';
import { vitestConfig } from './vitest-config.js';

/** The files of the generated package: path (with `/`) and content. */
export function packageFiles(layer: Layer): [path: string, content: string][] {
  const filter = layer.kind === 'filter';
  return [
    ['package.json', packageJson(layer)],
    ['README.md', filter ? filterReadme(layer) : pluginReadme(layer)],
    ['tsconfig.json', tsconfigJson()],
    ['tsconfig.build.json', tsconfigBuildJson()],
    ['vitest.config.ts', vitestConfig()],
    ['.gitignore', gitignore()],
    ['src/index.ts', filter ? filterIndex(layer) : pluginIndex(layer)],
    ['test/conformance.test.ts', conformanceTest(layer)],
  ];
}
