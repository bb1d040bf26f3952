/** A test filter that only declares the serialize-connections concurrency. */
import { API_VERSION, defineFilter } from '@nbdkit-ts/core';

export default defineFilter({ apiVersion: API_VERSION, name: 'serialize-connections', concurrency: 'serialize-connections' });
