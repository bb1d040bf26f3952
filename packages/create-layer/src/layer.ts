import type { Ranges } from './ranges.js';

/** The two kinds of layer a package can hold. */
export type LayerKind = 'filter' | 'plugin';

/** What the templates are filled with. */
export interface Layer {
  /** Filter or plugin. */
  readonly kind: LayerKind;
  /** The short name, as on the command line (`nbdkit-ts --filter=NAME`, `nbdkit-ts NAME`). */
  readonly name: string;
  /** The npm package: `nbdkit-ts-filter-NAME` or `nbdkit-ts-plugin-NAME`. */
  readonly packageName: string;
  /** The version ranges the package depends on. */
  readonly ranges: Ranges;
}

/** The prefix of a third-party layer's package name, which the server looks for. */
export const packagePrefix = (kind: LayerKind): string => `nbdkit-ts-${kind}-`;

/** The npm package name of the layer `name`. */
export const packageName = (kind: LayerKind, name: string): string => `${packagePrefix(kind)}${name}`;

/** npm's limit on the length of a package name. */
const MAX_PACKAGE_NAME = 214;

/**
 * Checks a layer name: lowercase letters, digits and dashes, starting with a
 * letter (a parameter key must start with one, and filters' keys start with
 * the name), no dash at either end or twice in a row. Throws an error naming
 * the argument otherwise.
 */
export function validateName(kind: LayerKind, name: string): void {
  const example = kind === 'filter' ? 'my-filter' : 'my-disk';
  if (name === '') throw new Error(`NAME is empty: give the ${kind}'s name, such as "${example}"`);
  if (name.startsWith(packagePrefix(kind))) {
    throw new Error(`NAME "${name}": give the ${kind}'s short name ("${name.slice(packagePrefix(kind).length)}"); the package is called ${packagePrefix(kind)}NAME`);
  }
  if (!/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(name)) {
    throw new Error(`NAME "${name}": use lowercase letters, digits and single dashes, starting with a letter and not ending with a dash (such as "${example}")`);
  }
  if (packageName(kind, name).length > MAX_PACKAGE_NAME) {
    throw new Error(`NAME "${name}": too long for an npm package name (${packageName(kind, name).length} characters in ${packagePrefix(kind)}NAME, at most ${MAX_PACKAGE_NAME})`);
  }
}
