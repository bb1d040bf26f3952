/** What {@link Admission.admit} decides for a new client. */
export type Admit =
  /** Served (or waiting its turn); `release` gives the slot back, once, however often it is called. */
  | { readonly served: true; release(): void }
  /** Over --max-connections: answered with a refusal, then closed; `release` when it is. */
  | { readonly served: false; release(): void }
  /** Over the limit and too many refusals under way: closed without a word. */
  | undefined;

/**
 * The --max-connections slots. A client holds a slot from accept until its
 * connection has closed its contexts, waiting its turn included
 * (serialize-connections), so the limit bounds every client the server holds.
 * Past the limit, up to `maxRefusing` clients at once are told why.
 */
export class Admission {
  private servedNow = 0;
  private refusingNow = 0;

  constructor(
    readonly max: number,
    private readonly maxRefusing: number,
  ) {}

  /** Clients holding a slot now. */
  get served(): number {
    return this.servedNow;
  }

  /** Refused clients still being answered. */
  get refusing(): number {
    return this.refusingNow;
  }

  admit(): Admit {
    if (this.servedNow < this.max) {
      this.servedNow++;
      return { served: true, release: this.once(() => this.servedNow--) };
    }
    if (this.refusingNow >= this.maxRefusing) return undefined;
    this.refusingNow++;
    return { served: false, release: this.once(() => this.refusingNow--) };
  }

  private once(f: () => void): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      f();
    };
  }
}
