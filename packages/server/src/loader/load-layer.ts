import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { API_VERSION, isConcurrency, type Filter, type Plugin } from '@nbdkit-ts/core';
import { resolveLayer, type LayerKind } from './resolve.js';

/** A layer definition, where it came from, and its version. */
export interface LoadedModule {
  readonly def: Plugin | Filter;
  readonly source: string;
  /** The version of the package that holds the module, else the one the layer declares. */
  readonly version: string | undefined;
}

/**
 * The version in the package.json of the package that holds `file`: the
 * nearest folder above it whose package.json has a name. Undefined when there
 * is none, or it has no version.
 */
export function packageVersion(file: string): string | undefined {
  for (let d = dirname(file); d !== dirname(d); d = dirname(d)) {
    let pkg: { name?: unknown; version?: unknown };
    try {
      pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as typeof pkg;
    } catch {
      continue;
    }
    if (typeof pkg.name === 'string') return typeof pkg.version === 'string' ? pkg.version : undefined;
  }
  return undefined;
}

/**
 * Checks that a module's default export is a layer of the expected kind
 * written for an API version this server implements. Throws a message naming
 * the layer otherwise.
 */
export function checkLayer(kind: LayerKind, value: unknown, source: string): Plugin | Filter {
  const definition = value as { kind?: unknown; create?: unknown } | null | undefined;
  if (typeof definition?.create !== 'function') {
    throw new Error(`${source}: the default export is not a ${kind} definition (use define${kind === 'plugin' ? 'Plugin' : 'Filter'})`);
  }
  const instance: unknown = (definition.create as () => unknown)();
  const def = (instance ?? {}) as { kind?: unknown; name?: unknown; apiVersion?: unknown; open?: unknown };
  if (def.kind !== kind) throw new Error(`${source}: expected a ${kind}, found ${typeof def.kind === "string" ? `a ${def.kind}` : "something else"}`);
  if (typeof def.name !== 'string' || def.name === '') throw new Error(`${source}: the ${kind} has no name`);
  if (def.apiVersion !== API_VERSION) {
    throw new Error(
      `${kind} "${def.name}" (${source}) was written for API version ${String(def.apiVersion)}, ` +
        `but this server implements API version ${API_VERSION}; install a version of it built for API ${API_VERSION}`,
    );
  }
  if (kind === 'plugin' && typeof def.open !== 'function') throw new Error(`${source}: plugin "${def.name}" has no open hook`);
  checkFields(instance as Record<string, unknown>, `${source}: ${kind} "${def.name}"`);
  return instance as Plugin | Filter;
}

/** The hooks a layer may define: each must be a function when present. */
const HOOKS = ['config', 'configComplete', 'dumpPlugin', 'ready', 'preconnect', 'listExports', 'defaultExport', 'open', 'cleanup'] as const;

/** Checks the optional fields of a layer; throws naming the field and what it should be. */
function checkFields(def: Record<string, unknown>, what: string): void {
  for (const hook of HOOKS) {
    if (def[hook] !== undefined && typeof def[hook] !== 'function') throw new Error(`${what}: ${hook} is not a function`);
  }
  for (const field of ['version', 'description', 'otherParams'] as const) {
    if (def[field] !== undefined && typeof def[field] !== 'string') throw new Error(`${what}: ${field} is not a string`);
  }
  const c = def.concurrency;
  if (c !== undefined && (typeof c !== 'string' || !isConcurrency(c))) {
    throw new Error(`${what}: concurrency ${JSON.stringify(c)} is not one of parallel, serialize-requests, serialize-all-requests, serialize-connections`);
  }
  const params = def.params;
  if (params === undefined) return;
  if (!Array.isArray(params)) throw new Error(`${what}: params is not an array`);
  for (const [i, p] of (params as unknown[]).entries()) {
    const spec = p as { name?: unknown; description?: unknown; magic?: unknown } | null;
    if (typeof spec?.name !== 'string' || spec.name === '') throw new Error(`${what}: params[${i}] has no name`);
    if (typeof spec.description !== 'string') throw new Error(`${what}: params[${i}] (${spec.name}) has no description`);
    if (spec.magic !== undefined && typeof spec.magic !== 'boolean') throw new Error(`${what}: params[${i}] (${spec.name}): magic is not a boolean`);
  }
}

/** Resolves, imports and checks a layer given by name or path. */
export async function loadLayer(kind: LayerKind, name: string, bases?: Iterable<string>): Promise<LoadedModule> {
  const { file } = resolveLayer(kind, name, bases);
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const def = checkLayer(kind, mod.default, file);
  return { def, source: file, version: packageVersion(file) ?? def.version };
}
