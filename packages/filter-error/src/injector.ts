import { existsSync } from 'node:fs';
import { DATA_METHODS, nbdError, type Logger } from '@nbdkit-ts/core';
import type { Injection, Method, Settings } from './settings.js';

/** Decides, call by call, whether to fail; one per server, shared by its connections. */
export class Injector {
  private readonly injections: ReadonlyMap<Method, Injection>;

  constructor(
    settings: Settings,
    /** The seeded generator of the random choices: numbers in [0, 1). */
    private readonly random: () => number,
    private readonly log: Logger,
  ) {
    this.injections = new Map(DATA_METHODS.map((m) => [m, settings.injection(m)]));
  }

  /** The calls that may fail at all (rate above 0); the others are left to pass through. */
  get active(): Method[] {
    return DATA_METHODS.filter((m) => (this.injections.get(m)?.rate ?? 0) > 0);
  }

  /**
   * Throws the configured error when this call is to fail: never at rate 0,
   * never while the trigger file is missing, always at rate 1, otherwise at
   * random. The generator is drawn only for rates between 0 and 1.
   */
  check(method: Method): void {
    const i = this.injections.get(method);
    if (i === undefined || i.rate <= 0) return;
    if (i.file !== undefined && !existsSync(i.file)) return;
    if (i.rate < 1 && this.random() >= i.rate) return;
    this.log.error(`injecting ${i.error} into ${method}`);
    throw nbdError(i.error, `injected ${i.error} into ${method}`);
  }
}
