import {
  NBD_CMD_FLAG_DF,
  NBD_CMD_FLAG_FAST_ZERO,
  NBD_EINVAL,
  NBD_EIO,
  NBD_ENOMEM,
  NBD_ENOSPC,
  NBD_ENOTSUP,
  NBD_EOVERFLOW,
  NBD_EPERM,
  NBD_ESHUTDOWN,
} from './constants.js';

/**
 * The one table from errno-style codes to NBD errors, as nbdkit maps them:
 * ENOTSUP only for a FAST_ZERO request and EOVERFLOW only with DF (EINVAL
 * otherwise); ETIMEDOUT (a call that outlived --request-timeout) is EIO;
 * unknown codes are EINVAL.
 */
export function nbdErrno(code: string, wireFlags: number): number {
  switch (code) {
    case 'EPERM':
    case 'EROFS':
      return NBD_EPERM;
    case 'EIO':
    case 'ETIMEDOUT':
      return NBD_EIO;
    case 'ENOMEM':
      return NBD_ENOMEM;
    case 'EDQUOT':
    case 'EFBIG':
    case 'ENOSPC':
      return NBD_ENOSPC;
    case 'ESHUTDOWN':
      return NBD_ESHUTDOWN;
    case 'ENOTSUP':
    case 'EOPNOTSUPP':
      return wireFlags & NBD_CMD_FLAG_FAST_ZERO ? NBD_ENOTSUP : NBD_EINVAL;
    case 'EOVERFLOW':
      return wireFlags & NBD_CMD_FLAG_DF ? NBD_EOVERFLOW : NBD_EINVAL;
    default:
      return NBD_EINVAL;
  }
}
