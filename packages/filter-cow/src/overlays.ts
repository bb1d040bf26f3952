import { nbdError, type Logger } from '@nbdkit-ts/core';
import { Overlay } from './overlay.js';
import { OverlayFile } from './overlay-file.js';
import type { Settings } from './settings.js';

/**
 * The overlays of one filter instance, one per export name, made when the
 * first connection to the export opens and kept until the server ends.
 */
export class Overlays {
  private readonly byExport = new Map<string, Promise<Overlay>>();

  constructor(private readonly settings: Settings) {}

  /**
   * The overlay of `exportName`, made for a disk of `size` bytes if there is
   * none yet. Throws EIO when the disk beneath is no longer the size it had
   * when its overlay was made.
   */
  async get(exportName: string, size: bigint, log: Logger): Promise<Overlay> {
    let made = this.byExport.get(exportName);
    if (made === undefined) {
      made = OverlayFile.create().then((file) => new Overlay(file, size, this.settings));
      this.byExport.set(exportName, made);
      void made.then(
        () => log.debug(`overlay of export "${exportName}" made, ${size} bytes in blocks of ${this.settings.blockSize}`),
        () => {
          if (this.byExport.get(exportName) === made) this.byExport.delete(exportName);
        },
      );
    }
    const overlay = await made;
    if (overlay.size !== size) {
      throw nbdError('EIO', `export "${exportName}" beneath is ${size} bytes, but was ${overlay.size} when its overlay was made: the cow filter cannot follow a resize`);
    }
    return overlay;
  }

  /** Closes every overlay file (their contents are gone); throws the first error once all are closed. */
  async close(): Promise<void> {
    const made = [...this.byExport.values()];
    this.byExport.clear();
    const closed = await Promise.allSettled(made.map(async (overlay) => (await overlay).file.close()));
    const failed = closed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
}
