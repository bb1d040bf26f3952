/**
 * The version of the context API that this copy of `@nbdkit-ts/core` describes.
 *
 * A plugin or filter declares the version it was written for as a literal
 * (`apiVersion: 1`). The server refuses a layer whose version it does not
 * implement, with a message naming the layer and both versions. The number
 * changes only when a change to the API would make an existing layer behave
 * wrongly (for example a new data call that a filter written earlier would
 * silently pass through).
 */
export const API_VERSION = 1;

/** The API versions a layer may declare. */
export type ApiVersion = typeof API_VERSION;
