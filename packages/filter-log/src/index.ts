/**
 * `@nbdkit-ts/filter-log`: logs the server's readiness, each client's
 * preconnect check, export lists, each connection and each request with its
 * outcome, to a file in nbdkit's log format and/or to a script. See README.md
 * for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, stricterConcurrency, type FilterHandle } from '@nbdkit-ts/core';
import { EventLog } from './event-log.js';
import { exportsFields, readyFields } from './fields.js';
import { loggingHandle } from './logging-handle.js';
import { Settings } from './settings.js';

const CONCURRENCY = 'parallel';

export default defineFilter<FilterHandle>(() => {
  const settings = new Settings();
  let events: EventLog | undefined;
  /** Contexts opened so far: the number of the next one's connection. */
  let connections = 0;
  /** Preconnect checks so far. */
  let preconnects = 0;
  /** ListExports calls so far. */
  let lists = 0;
  return {
    apiVersion: 1,
    name: 'log',
    description: "log connections and requests to a file (in nbdkit's format) or a script",
    params: Settings.params,
    concurrency: CONCURRENCY,
    config(key, value) {
      settings.config(key, value);
    },
    async ready(backend, host) {
      const log = new EventLog(settings, host.log);
      if (!log.active) return;
      log.open();
      events = log;
      await log.emit({ act: 'Ready', type: 'PRINT', fields: readyFields(stricterConcurrency(CONCURRENCY, backend.concurrency)) });
    },
    cleanup() {
      events?.close();
    },
    async preconnect(client, backend) {
      if (events === undefined) return backend.preconnect(client);
      await events.around({ id: ++preconnects, act: 'Preconnect' }, `readonly=${client.readonly ? 1 : 0}`, () => backend.preconnect(client));
    },
    async listExports(client, backend) {
      if (events === undefined) return backend.listExports(client);
      const fields = `readonly=${client.readonly ? 1 : 0} tls=${client.tls ? 1 : 0}`;
      return events.around({ id: ++lists, act: 'ListExports' }, fields, () => backend.listExports(client), exportsFields);
    },
    async open(context) {
      await context.openNext();
      return events === undefined ? {} : loggingHandle(context, events, ++connections);
    },
  };
});
