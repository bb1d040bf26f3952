/**
 * The conformance suites of `@nbdkit-ts/testing`: `testPlugin()` and
 * `testFilter()` declare vitest suites that check the contract every layer
 * must keep, against the real server and real clients.
 *
 * @packageDocumentation
 */
export type { Check } from './checks.js';
export { testFilter, testPlugin, type FilterSuiteOptions, type Fixture, type Params, type PluginSuiteOptions, type SuiteOptions } from './suite.js';
