// Preloaded with `node --import` to run the server as on a machine where koffi
// cannot be loaded: importing it fails as a missing package does.
import { register } from 'node:module';

const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier === 'koffi') {
    const e = new Error("Cannot find package 'koffi'");
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
