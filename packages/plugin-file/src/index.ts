/**
 * `@nbdkit-ts/plugin-file`: serve a file, a block device, a directory of
 * images or an inherited file descriptor, sparse-aware where the native calls
 * load (trim punches holes, zero deallocates, extents from SEEK_DATA/SEEK_HOLE).
 *
 * @packageDocumentation
 */
import { definePlugin, type Logger } from '@nbdkit-ts/core';
import { FileConfig, PARAMS, type Source } from './config.js';
import { exportPath, listDirectory } from './directory.js';
import { FileHandle, UncachedFileHandle, type HandleOptions } from './file-handle.js';
import { loadNative } from './native.js';
import { NativeCalls } from './native-calls.js';
import { inheritedFile, openPath, type OpenedFile } from './open-file.js';

export default definePlugin(() => {
  const config = new FileConfig();
  let source: Source | undefined;
  let log: Logger | undefined;
  const natives = new NativeCalls(() =>
    loadNative().then((loaded) => {
      if (loaded.ops !== undefined) {
        log?.debug(`native file operations: ${loaded.ops.description}`);
        return loaded.ops;
      }
      log?.debug(`native file operations unavailable (${loaded.reason}): trim and cache do nothing, zero writes zeroes, block status reports data`);
      if (config.cache === 'none' || config.fadvise !== 'normal') {
        log?.warn(`cache=${config.cache} fadvise=${config.fadvise}: ignored, they need the native file operations (${loaded.reason})`);
      }
      return undefined;
    }),
  );

  const openSource = (exportName: string, readonly: boolean): OpenedFile => {
    switch (source?.kind) {
      case 'file':
        return openPath(source.path, readonly);
      case 'dir':
        return openPath(exportPath(source.path, exportName), readonly);
      case 'fd':
        return inheritedFile(source.fd, readonly);
      default:
        throw new Error('file: open before configuration was complete');
    }
  };

  return {
    apiVersion: 1,
    name: 'file',
    description: 'serve a file, a block device or a directory of images, sparse-aware',
    params: PARAMS,
    concurrency: 'parallel',
    config(key, value) {
      config.set(key, value);
    },
    configComplete() {
      source = config.complete();
    },
    // What nbdkit's file plugin says of itself: the sparse-aware calls this system has.
    async dumpPlugin() {
      return (await natives.get()) === undefined ? '' : 'file_extents=yes\nfile_falloc_fl_punch_hole=yes\nfile_falloc_fl_zero_range=yes';
    },
    async ready(host) {
      log = host.log;
      if (config.cache === 'none' || config.fadvise !== 'normal') await natives.get();
    },
    listExports() {
      return source?.kind === 'dir' ? listDirectory(source.path) : [{ name: '' }];
    },
    async open(info) {
      const file = openSource(info.exportName, info.readonly);
      const options: HandleOptions = { natives, log: info.log, debugZero: info.debugFlag('zero') !== 0, advice: config.advice };
      const native = config.cache === 'none' ? await natives.get() : undefined;
      return native === undefined ? new FileHandle(file, options) : new UncachedFileHandle(file, options, native);
    },
  };
});
