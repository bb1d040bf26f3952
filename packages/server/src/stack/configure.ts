import { errorMessage, type Filter, type Plugin } from '@nbdkit-ts/core';
import { routeParams } from './params.js';

/**
 * Gives each `key=value` (and bare word) to the layer that takes it, in
 * command-line order; a layer's refusal is thrown with the layer's name.
 */
export async function configure(layers: readonly (Plugin | Filter)[], params: readonly string[]): Promise<void> {
  for (const p of routeParams(layers, params)) {
    const layer = layers[p.index] as Plugin | Filter;
    try {
      await layer.config?.(p.key, p.value);
    } catch (e) {
      throw new Error(`${layer.name}: ${errorMessage(e)}`, { cause: e });
    }
  }
}
