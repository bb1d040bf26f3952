/**
 * `@nbdkit-ts/create-layer`: the generator behind `npm init @nbdkit-ts/filter`
 * and `npm init @nbdkit-ts/plugin`. It writes a ready package for a
 * third-party nbdkit-ts layer, `nbdkit-ts-filter-NAME` or
 * `nbdkit-ts-plugin-NAME`, whose dependency ranges are this package's own.
 *
 * @packageDocumentation
 */
export { commandName, main, usage, type Io } from './cli.js';
export { packageName, packagePrefix, validateName, type Layer, type LayerKind } from './layer.js';
export { DEPENDENCIES, readRanges, type Dependency, type Ranges } from './ranges.js';
export { checkTarget, displayPath, scaffold, type Scaffolded, type ScaffoldOptions } from './scaffold.js';
