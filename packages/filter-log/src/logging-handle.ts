import { ExtentList, Flag, type Context, type FilterHandle, type MaybePromise, type Next } from '@nbdkit-ts/core';
import type { EventLog } from './event-log.js';
import { bit, connectFields, extentsFields, hex } from './fields.js';

/**
 * The handle of one connection (a context of this filter), numbered
 * `connection`: it logs Connect once the layer beneath is ready, each data
 * call as an ENTER and a LEAVE event with an id counted per connection, and
 * Disconnect with the number of calls. Calls go on to the layer beneath as
 * they came.
 */
export function loggingHandle(context: Context, events: EventLog, connection: number): FilterHandle {
  const next = (): Next => context.next as Next;
  let calls = 0;

  const logged = <T>(act: string, fields: string, call: () => MaybePromise<T>, leave?: (result: T) => string): Promise<T> =>
    events.around({ connection, id: ++calls, act }, fields, call, leave);

  const span = (count: number, offset: bigint): string => `offset=${hex(offset)} count=${hex(count)}`;
  const fua = (flags: number): string => `fua=${bit(flags, Flag.FUA)}`;

  return {
    prepare: () => events.emit({ connection, act: 'Connect', type: 'PRINT', fields: connectFields(context.exportName, context.tls, next().capabilities) }),
    finalize: () => events.emit({ connection, act: 'Disconnect', type: 'PRINT', fields: `transactions=${calls}` }),
    pread: (buf, offset, flags) => logged('Read', span(buf.length, offset), () => next().pread(buf, offset, flags)),
    pwrite: (buf, offset, flags) => logged('Write', `${span(buf.length, offset)} ${fua(flags)}`, () => next().pwrite(buf, offset, flags)),
    flush: (flags) => logged('Flush', '', () => next().flush(flags)),
    trim: (count, offset, flags) => logged('Trim', `${span(count, offset)} ${fua(flags)}`, () => next().trim(count, offset, flags)),
    zero: (count, offset, flags) =>
      logged('Zero', `${span(count, offset)} trim=${bit(flags, Flag.MAY_TRIM)} ${fua(flags)} fast=${bit(flags, Flag.FAST_ZERO)}`, () => next().zero(count, offset, flags)),
    cache: (count, offset, flags) => logged('Cache', span(count, offset), () => next().cache(count, offset, flags)),
    async extents(count, offset, flags, extents) {
      // A list of its own, so that the log shows what the layer beneath reported to this call.
      const beneath = new ExtentList(offset, extents.end);
      await logged(
        'Extents',
        `${span(count, offset)} req_one=${bit(flags, Flag.REQ_ONE)}`,
        () => next().extents(count, offset, flags, beneath),
        () => extentsFields(beneath.extents),
      );
      for (const e of beneath.extents) extents.add(e.offset, e.length, e.type);
    },
  };
}
