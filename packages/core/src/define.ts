import type { Filter } from './filter.js';
import type { FilterHandle, PluginHandle } from './handle.js';
import type { Plugin } from './plugin.js';

/**
 * What a plugin module exports by default: a factory of plugin instances.
 * Each server calls `create()` once, so two servers in one process (or two
 * uses of the same filter in one stack) never share configuration.
 */
export interface PluginDefinition<H extends PluginHandle = PluginHandle> {
  /** Tells a plugin module from a filter module. */
  readonly kind: 'plugin';
  /** Makes a fresh instance of the plugin, for one server. */
  create(): Plugin<H>;
}

/** What a filter module exports by default: a factory of filter instances. */
export interface FilterDefinition<H extends FilterHandle = FilterHandle> {
  /** Tells a filter module from a plugin module. */
  readonly kind: 'filter';
  /** Makes a fresh instance of the filter, for one server (or one use in a stack). */
  create(): Filter<H>;
}

/** A plugin's hooks, as written by its author. */
export type PluginSpec<H extends PluginHandle = PluginHandle> = Omit<Plugin<H>, 'kind'>;
/** A filter's hooks, as written by its author. */
export type FilterSpec<H extends FilterHandle = FilterHandle> = Omit<Filter<H>, 'kind'>;

/**
 * Defines a plugin: `export default definePlugin(() => { let file; return {...} })`.
 * Pass a function when the plugin keeps configuration (it runs once per
 * server), or an object when it keeps none.
 */
export function definePlugin<H extends PluginHandle>(spec: PluginSpec<H> | (() => PluginSpec<H>)): PluginDefinition<H> {
  return { kind: 'plugin', create: () => instance(typeof spec === 'function' ? spec() : spec, 'plugin') };
}

/** Defines a filter, like {@link definePlugin}. */
export function defineFilter<H extends FilterHandle>(spec: FilterSpec<H> | (() => FilterSpec<H>)): FilterDefinition<H> {
  return { kind: 'filter', create: () => instance(typeof spec === 'function' ? spec() : spec, 'filter') };
}

/** A fresh object with the spec's properties as they are written (a getter stays a getter) and `kind`. */
function instance<S extends object, K extends 'plugin' | 'filter'>(spec: S, kind: K): S & { readonly kind: K } {
  return Object.defineProperties({ kind }, Object.getOwnPropertyDescriptors(spec)) as S & { readonly kind: K };
}
