import { Socket } from 'node:net';

/** Where a socket's next bytes go, and what happens once they are there. */
export interface ReadTarget {
  /** The buffer the next read fills (up to its length); asked again after every read. */
  buffer(): Uint8Array;
  /** `n` bytes arrived at the start of `buf`, the buffer last returned by {@link buffer}. */
  read(n: number, buf: Uint8Array): void;
}

/** What Node's net.Socket takes besides its documented options. */
interface HandleOptions {
  handle: unknown;
  pauseOnCreate: boolean;
  onread: { buffer: () => Uint8Array; callback: (n: number, buf: Uint8Array) => void };
}

/**
 * Makes an accepted socket read into buffers its connection chooses (Node's
 * `onread` option, which net.Server does not offer for the sockets it
 * accepts): the socket's handle moves to a new net.Socket created with that
 * option, paused; the old one is destroyed without it. Call before anything
 * was read from `socket` (the server listens with `pauseOnConnect`). Returns
 * undefined when `socket` has no handle to move; it is then read as usual.
 */
export function readInPlace(socket: Socket, target: ReadTarget): Socket | undefined {
  const s = socket as Socket & { _handle?: unknown };
  const handle = s._handle;
  if (handle === null || handle === undefined || socket.readableLength > 0) return undefined;
  s._handle = null;
  socket.destroy();
  const options: HandleOptions = {
    handle,
    pauseOnCreate: true,
    onread: { buffer: () => target.buffer(), callback: (n, buf) => target.read(n, buf) },
  };
  return new Socket({ readable: true, writable: true, ...options });
}

/** The descriptor of a socket's handle, when it has one (Unix). */
export function socketFd(socket: Socket): number | undefined {
  const fd = (socket as Socket & { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
