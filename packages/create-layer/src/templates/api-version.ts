import type { ApiVersion } from '@nbdkit-ts/core';

/**
 * The API version the generated layers are written for. Checked against
 * core's type when this package is built, so that a new API version cannot
 * be released with templates written for the old one.
 */
export const API_VERSION = 1 satisfies ApiVersion;
