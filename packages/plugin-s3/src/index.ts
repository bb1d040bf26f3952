import { definePlugin, errorMessage, type Logger } from '@nbdkit-ts/core';
import { decodeMetadata, encodeMetadata, Layout, metadataKey, type Geometry } from './layout.js';
import { ObjectStore } from './object-store.js';
import { S3Disk } from './s3-disk.js';
import { S3Handle } from './s3-handle.js';
import { checkObjectSize, DEFAULT_OBJECT_SIZE, PARAMS, SettingsBuilder, type Settings } from './settings.js';

/**
 * Finds the disk's shape: from its metadata object when the disk exists
 * (checked against size= and object-size=), else from size= for a disk
 * still to be created. Throws an error that names the parameter to fix.
 */
async function findGeometry(store: ObjectStore, settings: Settings, key: string): Promise<{ geometry: Geometry; exists: boolean }> {
  const where = store.url(`${key}/`);
  const text = await store.readText(metadataKey(key));
  if (text === undefined) {
    if (settings.size === undefined) throw new Error(`there is no disk at ${where}: give size= to create one`);
    return { geometry: { size: settings.size, objectSize: settings.objectSize ?? DEFAULT_OBJECT_SIZE }, exists: false };
  }
  const g = decodeMetadata(text, store.url(metadataKey(key)));
  checkObjectSize(`the disk at ${where}`, BigInt(g.objectSize));
  if (settings.size !== undefined && settings.size !== g.size) {
    throw new Error(`size=${settings.size} does not match the disk at ${where}, which is ${g.size} bytes: leave size= out to open it (disks cannot be resized)`);
  }
  if (settings.objectSize !== undefined && settings.objectSize !== g.objectSize) {
    throw new Error(`object-size=${settings.objectSize} does not match the disk at ${where}, which has objects of ${g.objectSize} bytes: leave object-size= out`);
  }
  return { geometry: g, exists: true };
}

export default definePlugin(() => {
  const builder = new SettingsBuilder();
  let settings: Settings | undefined;
  let store: ObjectStore | undefined;
  let disk: S3Disk | undefined;
  let log: Logger | undefined;
  /** Set while the disk still has to be created by the first writable connection. */
  let create: (() => Promise<void>) | undefined;
  let creating: Promise<void> | undefined;

  return {
    apiVersion: 1,
    name: 's3',
    description: 'serve a disk stored as chunk objects in S3-compatible object storage',
    params: PARAMS,
    concurrency: 'parallel',
    config(key, value) {
      builder.set(key, value);
    },
    configComplete() {
      settings = builder.build();
    },
    async ready(host) {
      const s = settings as Settings;
      log = host.log;
      store = new ObjectStore(s);
      let found: { geometry: Geometry; exists: boolean };
      try {
        found = await findGeometry(store, s, s.key);
      } catch (e) {
        store.close();
        throw new Error(`s3: ${errorMessage(e)}`, { cause: e });
      }
      const layout = new Layout(s.key, found.geometry.size, found.geometry.objectSize);
      disk = new S3Disk(store, layout);
      if (!found.exists) {
        const st = store;
        create = async () => {
          await st.put(layout.metadataKey, Buffer.from(encodeMetadata(layout)));
          log?.debug(`created ${st.url(layout.prefix)}: ${layout.size} bytes in objects of ${layout.objectSize}`);
          create = undefined;
        };
      }
    },
    async open({ readonly }) {
      if (!readonly && create !== undefined) {
        creating ??= create().finally(() => (creating = undefined));
        await creating;
      }
      return new S3Handle(disk as S3Disk, !readonly);
    },
    cleanup() {
      store?.close();
    },
  };
});
