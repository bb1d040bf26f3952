// A plugin serving file= whose sendFrom answers each 1 MiB region of the
// export its own way, for the server's tests of the sendFrom contract.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { API_VERSION, definePlugin, errorCode, nbdError } from '@nbdkit-ts/core';

const REGION = 1024 * 1024;
/** Region numbers and what sendFrom does there. */
export const REGIONS = { SEND: 0, DECLINE: 1, THROW: 2, SEND_LATE: 3, SEND_TWICE: 4 };

export default definePlugin(() => {
  let path = '';
  return {
    apiVersion: API_VERSION,
    name: 'sendfrom',
    params: [{ name: 'file', description: 'the file to serve', magic: true }],
    config(_key, value) {
      path = value;
    },
    open({ log }) {
      const fd = openSync(path, 'r');
      return {
        capabilities: () => ({ size: BigInt(fstatSync(fd).size) }),
        pread(buf, offset) {
          let done = 0;
          while (done < buf.length) done += readSync(fd, buf, done, buf.length - done, Number(offset) + done);
        },
        async sendFrom(count, offset, flags, send) {
          const region = Math.floor(Number(offset) / REGION);
          if (region === REGIONS.DECLINE) return;
          if (region === REGIONS.THROW) throw nbdError('EPERM', 'not this region');
          if (region === REGIONS.SEND_LATE) {
            // Past the server's --request-timeout: the client has had its error.
            await new Promise((resolve) => setTimeout(resolve, 1500));
            await send(fd, offset).catch((/** @type {unknown} */ e) => log.info(`late send refused: ${errorCode(e)}`));
            return;
          }
          const sent = send(fd, offset);
          if (region === REGIONS.SEND_TWICE) await send(fd, offset).catch((/** @type {unknown} */ e) => log.info(`second send refused: ${errorCode(e)}`));
          await sent;
        },
        close() {
          closeSync(fd);
        },
      };
    },
  };
});
