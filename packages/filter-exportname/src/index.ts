/**
 * `@nbdkit-ts/filter-exportname`: changes which export the default name
 * stands for, the export list clients see, which names they may open, and
 * export descriptions. See README.md for the manual.
 *
 * @packageDocumentation
 */
import { defineFilter, nbdError, type Backend, type ClientInfo, type ExportInfo, type FilterHandle, type Logger } from '@nbdkit-ts/core';
import { describeExport } from './descriptions.js';
import { Settings } from './settings.js';

export default defineFilter<FilterHandle>(() => {
  const settings = new Settings();
  /** The filter's log, from ready (which runs before any export is listed). */
  let log: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

  const defaultExport = async (client: ClientInfo, backend: Backend): Promise<string> => {
    if (!settings.strict) return settings.defaultExport ?? backend.defaultExport(client);
    if (settings.names.includes('')) return settings.defaultExport ?? '';
    throw nbdError('ENOENT', 'exportname: the default export ("") is not allowed: exportname-strict is on and no exportname= gives ""');
  };

  const described = (list: readonly ExportInfo[]): Promise<ExportInfo[]> =>
    Promise.all(
      list.map(async ({ name, description }) => {
        const d = await describeExport(settings.description, name, async () => description, log);
        return d === undefined ? { name } : { name, description: d };
      }),
    );

  return {
    apiVersion: 1,
    name: 'exportname',
    description: 'change the default export, the export list, the names clients may open, and export descriptions',
    params: Settings.params,
    concurrency: 'parallel',
    config(key, value) {
      settings.config(key, value);
    },
    ready(_backend, host) {
      log = host.log;
    },
    defaultExport,
    async listExports(client, backend) {
      switch (settings.list) {
        case 'keep':
          return described(await backend.listExports(client));
        case 'error':
          throw nbdError('EPERM', 'exportname: the export list is not given out (exportname-list=error)');
        case 'empty':
          return [];
        case 'defaultonly':
          // As nbdkit: when the default export is not allowed, the list is empty.
          return defaultExport(client, backend).then(
            (name) => [{ name }],
            () => [],
          );
        case 'explicit':
          return described(settings.names.map((name) => ({ name })));
      }
    },
    async open(context) {
      const name = context.exportName;
      if (settings.strict && !settings.names.includes(name)) {
        throw nbdError('ENOENT', `exportname: export "${name}" not found: exportname-strict is on and no exportname= gives it`);
      }
      // The layer beneath gets the name of its own default export, as each layer of nbdkit does.
      const beneath = name === '' ? await context.backend.defaultExport({ readonly: context.readonly, tls: context.tls }) : name;
      const next = await context.openNext({ exportName: beneath });
      return {
        async capabilities() {
          if (settings.description.mode === 'keep') return {};
          return { description: await describeExport(settings.description, name, async () => next.capabilities.description, context.log) };
        },
      };
    },
  };
});
