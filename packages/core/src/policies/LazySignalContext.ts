import type { LazyAbort } from './LazyAbort';

/**
 * A context object (`{ signal }`) whose `signal` is read from a {@link LazyAbort} only when someone reads
 * it, so that handing out the context does not make the signal.
 *
 * `signal` is an own, enumerable getter, not a prototype one: cockatiel's `wrap()` merges contexts with
 * `{ ...context, ...next }`, which copies own properties only, and must copy this one (reading it, so the
 * signal is made there). The getter is one shared function, defined with one shared descriptor: a getter
 * written in an object literal is a new function per object, which costs V8 a new hidden class each time
 * (about three times slower, and much more garbage).
 * @internal
 */
export class LazySignalContext {
  /**
   * The context constructed last in this process, held until the next one is, as `CallState.latest`
   * holds the last call: a full GC that finds no context alive throws away the code optimized for
   * contexts (`timeoutPolicy().execute()` makes one per call). Never more than one in the whole process.
   */
  static latest: LazySignalContext | undefined = undefined;
  /** The attempt's signal, made on first read. */
  declare readonly signal: AbortSignal;
  readonly #abort: LazyAbort;

  static readonly #signalProperty: PropertyDescriptor = {
    get(this: LazySignalContext): AbortSignal {
      return this.#abort.signal;
    },
    enumerable: true,
    configurable: true,
  };

  constructor(abort: LazyAbort) {
    this.#abort = abort;
    Object.defineProperty(this, 'signal', LazySignalContext.#signalProperty);
    LazySignalContext.latest = this;
  }
}
