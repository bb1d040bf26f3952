/**
 * `@nbdkit-ts/plugin-sh/methods`: nbdkit's calling convention for plugins
 * written as scripts, for plugins that run scripts of their own (eval).
 *
 * @packageDocumentation
 */
export { ScriptMethods } from './script-methods.js';
export { ScriptDir } from './script-dir.js';
export { scriptPlugin, type ScriptPluginParts } from './script-plugin.js';
