import { ExtentList, type Capabilities, type FilterHandle, type Next } from '@nbdkit-ts/core';

/** A part of the disk beneath: `size` bytes from byte `offset`. */
export interface Window {
  /** First byte of the disk beneath that is served, as byte 0 of the export. */
  readonly offset: bigint;
  /** Size of the export. */
  readonly size: bigint;
}

/**
 * A handle serving `window` of `next`, the Next associated with the
 * connection: every call with an offset is moved by the window's offset, and
 * block status is moved back. Flush has no offset and passes through. The
 * window must lie within `next`, which the caller checked when it made it.
 *
 * `overrides` are capabilities to report besides the window's size (a
 * description of what the window is).
 */
export function windowHandle(next: Next, window: Window, overrides: Partial<Capabilities> = {}): FilterHandle {
  const start = window.offset;
  const end = start + window.size;
  return {
    capabilities: () => ({ ...overrides, size: window.size }),
    pread: (buf, offset, flags) => next.pread(buf, start + offset, flags),
    pwrite: (buf, offset, flags) => next.pwrite(buf, start + offset, flags),
    trim: (count, offset, flags) => next.trim(count, start + offset, flags),
    zero: (count, offset, flags) => next.zero(count, start + offset, flags),
    cache: (count, offset, flags) => next.cache(count, start + offset, flags),
    async extents(count, offset, flags, extents) {
      // The disk beneath may answer past the request, up to the end of the window, not beyond.
      const beneath = new ExtentList(start + offset, end);
      await next.extents(count, start + offset, flags, beneath);
      for (const e of beneath.extents) extents.add(e.offset - start, e.length, e.type);
    },
  };
}
