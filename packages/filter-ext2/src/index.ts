import { defineFilter, errorMessage, nbdError, type Backend, type Host, type Next } from '@nbdkit-ts/core';
import { Ext2Handle } from './ext2-handle.js';
import { Filesystem } from './ext2fs/filesystem.js';
import { nextDevice } from './next-device.js';

/** The value of `ext2file` that makes the client's export name pick the file. */
const EXPORTNAME = 'exportname';

/** The filesystem, mounted once on a shared context below and served to every connection. */
interface Mounted {
  readonly next: Next;
  readonly fs: Filesystem;
}

/**
 * The ext2 filter: serves a file from inside the ext2/3/4 filesystem that
 * the layer beneath provides. One filesystem for all connections.
 */
export default defineFilter(() => {
  let file: string | undefined;
  let backend: Backend | undefined;
  let host: Host | undefined;
  let mounted: Promise<Mounted> | undefined;

  /**
   * Mounts the filesystem on a shared context: read-write unless the server
   * runs read-only (then a shared context opens read-only) or the image
   * cannot be written, whichever connection asks first.
   */
  async function mount(): Promise<Mounted> {
    const below = backend as Backend;
    const next = await below.open({ shared: true, exportName: '' });
    try {
      const fs = await Filesystem.mount(nextDevice(next, below.concurrency !== 'parallel'));
      for (const reason of fs.readonlyReasons) host?.log.warn(`serving read-only: ${reason}`);
      return { next, fs };
    } catch (e) {
      await next.close();
      throw e;
    }
  }

  /** Writes the filesystem back and closes its shared context; logs a failure to write back. */
  async function unmount(): Promise<void> {
    const m = mounted;
    mounted = undefined;
    if (m === undefined) return;
    const { next, fs } = await m.catch(() => ({ next: undefined, fs: undefined }));
    try {
      await fs?.flush();
    } catch (e) {
      host?.log.error(`writing back the filesystem: ${errorMessage(e)}`);
    }
    await next?.close();
  }

  return {
    apiVersion: 1,
    name: 'ext2',
    description: 'serve a file from inside an ext2/3/4 filesystem image',
    params: [
      {
        name: 'ext2file',
        description: "absolute path of the file inside the filesystem, or 'exportname' to let the client's export name pick it",
      },
    ],
    concurrency: 'parallel',
    config(key, value) {
      if (key !== 'ext2file') return;
      if (file !== undefined) throw new Error('ext2file= given more than once');
      if (value !== EXPORTNAME && !value.startsWith('/')) {
        throw new Error(`ext2file=${value}: expected an absolute path inside the filesystem (such as /disks/vm.img) or 'exportname'`);
      }
      file = value;
    },
    configComplete() {
      if (file === undefined) throw new Error("ext2file= is required: the absolute path of the file inside the filesystem, or 'exportname'");
    },
    ready(below, h) {
      backend = below;
      host = h;
      // Shared contexts close before cleanup hooks run: write the filesystem back
      // once the last connection has closed, while the context beneath still works.
      h.background('write back at shutdown', async (signal) => {
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        await unmount();
      });
    },
    async open(context) {
      let path = file as string;
      if (path === EXPORTNAME) {
        if (context.exportName === '') throw nbdError('EINVAL', 'ext2file=exportname: the client must name the file as its export name');
        path = context.exportName.startsWith('/') ? context.exportName : `/${context.exportName}`;
      }
      if (mounted === undefined) {
        mounted = mount();
        mounted.catch(() => (mounted = undefined));
      }
      const { fs } = await mounted;
      const f = await fs.open(await fs.lookup(path));
      return new Ext2Handle(fs, f);
    },
    cleanup: unmount,
  };
});
