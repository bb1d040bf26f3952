import type { Layer } from '../layer.js';
import { API_VERSION } from './api-version.js';
import { summary } from './package-json.js';

/** `src/index.ts` of a filter: passes everything through, with one parameter, `NAME-log`. */
export const filterIndex = (layer: Layer): string => `/**
 * \`${layer.packageName}\`: an nbdkit-ts filter.
 *
 * It ${summary(layer)}: its handle sends every
 * call to the context it opens on the layer beneath. \`${layer.name}-log=true\` logs
 * each connection as it opens.
 *
 * @packageDocumentation
 */
import { defineFilter, parseBool, type FilterHandle } from '@nbdkit-ts/core';

/**
 * The filter \`${layer.name}\`: \`nbdkit-ts --filter=${layer.name} PLUGIN ...\`. The server
 * runs the factory once per server; \`config\` receives the parameters, and
 * \`open\` runs for each connection and returns its handle.
 */
export default defineFilter<FilterHandle>(() => {
  /** Whether to log each connection (\`${layer.name}-log=\`). */
  let log = false;
  return {
    // The API version this filter was written for, as a literal: the server refuses it when
    // it implements another one.
    apiVersion: ${API_VERSION},
    name: '${layer.name}',
    description: '${summary(layer)}',
    params: [{ name: '${layer.name}-log', description: 'log each connection as it opens: true or false (default false)' }],
    concurrency: 'parallel',
    config(key, value) {
      // Throws "${layer.name}-log=maybe: expected a boolean ..."; the server prints it and exits.
      if (key === '${layer.name}-log') log = parseBool(key, value);
    },
    async open(context) {
      // Associate a context on the layer beneath with this connection: the calls the handle
      // leaves out (and the capabilities) go to it, as context.next.
      await context.openNext();
      if (log) context.log.info(\`connection opened: export "\${context.exportName}"\${context.readonly ? ', read-only' : ''}\`);
      return {
        // Written out as a starting point: left out, it would pass through the same way.
        pread: (buf, offset, flags) => context.next!.pread(buf, offset, flags),
      };
    },
  };
});
`;
