/**
 * A test filter that opens the layer beneath read-only for the export name
 * `ro`, and as the connection asks otherwise.
 */
import { API_VERSION, defineFilter } from '@nbdkit-ts/core';

export default defineFilter({
  apiVersion: API_VERSION,
  name: 'readonly-export',
  async open(context) {
    await context.openNext({ readonly: context.readonly || context.exportName === 'ro' });
    return {};
  },
});
