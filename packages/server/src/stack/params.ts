import type { Filter, Plugin } from '@nbdkit-ts/core';

/** One parameter routed to the layer that declares it. */
export interface RoutedParam {
  /** Index of the layer in the stack (0 = outermost). */
  readonly index: number;
  readonly key: string;
  readonly value: string;
}

const KEY = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$/s;

/** A parameter no layer takes; the message names every layer and its keys. */
export class UnknownParameter extends Error {}

/**
 * Routes `key=value` arguments to the outermost layer that declares the key
 * (else to a plugin that takes other keys), and bare words to the plugin's
 * magic key. Throws UnknownParameter otherwise.
 */
export function routeParams(layers: readonly (Plugin | Filter)[], args: readonly string[]): RoutedParam[] {
  const routed: RoutedParam[] = [];
  const pluginIndex = layers.length - 1;
  const plugin = layers[pluginIndex];
  const magic = plugin?.params?.find((p) => p.magic === true)?.name;
  for (const arg of args) {
    const m = KEY.exec(arg);
    if (m === null) {
      if (magic === undefined) throw new UnknownParameter(`${arg}: plugin "${plugin?.name}" takes no bare word (no magic parameter); use key=value\n${describe(layers)}`);
      routed.push({ index: pluginIndex, key: magic, value: arg });
      continue;
    }
    const key = m[1] as string;
    let index = layers.findIndex((l) => l.params?.some((p) => p.name === key) === true);
    if (index < 0 && plugin?.kind === 'plugin' && plugin.otherParams !== undefined) index = pluginIndex;
    if (index < 0) throw new UnknownParameter(`unknown parameter "${key}"\n${describe(layers)}`);
    routed.push({ index, key, value: m[2] as string });
  }
  return routed;
}

/** A list of the layers and the keys each takes, for error messages. */
export function describe(layers: readonly (Plugin | Filter)[]): string {
  return layers
    .map((l) => {
      const keys = (l.params ?? []).map((p) => p.name + (p.magic === true ? ' (magic)' : ''));
      if (l.kind === 'plugin' && l.otherParams !== undefined) keys.push(`other keys (${l.otherParams})`);
      return `  ${l.kind} ${l.name}: ${keys.length === 0 ? 'no parameters' : keys.join(', ')}`;
    })
    .join('\n');
}
