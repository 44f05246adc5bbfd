/**
 * Typed listeners of one emitter (a cache, a scope, a `resilient()` pipeline). `wants(type)` lets emitters
 * skip building an event nobody listens to, which keeps hot paths free of allocations even while other
 * types have listeners; `active` says whether any listener at all is registered. A listener that
 * throws, or returns a promise that rejects, is reported to `onListenerError`, never to the code that
 * emitted the event (and never becomes an unhandled rejection).
 *
 * @example
 * const bus = new EventBus<MyEvent>(MyEventType, (error) => console.warn(error));
 * const off = bus.on('THING_HAPPENED', (event) => console.log(event));
 * if (bus.wants('THING_HAPPENED')) bus.emit({ type: 'THING_HAPPENED' });
 */
export class EventBus<E extends { readonly type: string }> {
  #all: Array<(event: E) => void> = [];
  #byType = new Map<string, Array<(event: E) => void>>();
  /** True while at least one listener is registered. */
  active = false;

  /**
   * @param types the known event types (an object whose keys are the type names), to refuse typos
   * @param onListenerError receives what a listener throws
   * @param onWantsChange called when what `wants()` answers for some type changes (a type, or `'*'`, gets
   *   its first listener or loses its last), with the new `active`
   */
  constructor(
    private readonly types: Readonly<Record<string, unknown>>,
    private readonly onListenerError: (error: unknown) => void,
    private readonly onWantsChange?: (active: boolean) => void,
  ) {}

  /**
   * Whether an event of `type` would reach a listener now: one of that type or of `'*'`. O(1) and
   * allocation-free, for hot paths: build the event only when this is true.
   */
  wants(type: E['type']): boolean {
    return this.#all.length > 0 || this.#byType.has(type);
  }

  /** Listens to one event type, or to all with `'*'`. Returns a function that unsubscribes. */
  on<K extends E['type']>(type: K | '*', listener: (event: Extract<E, { type: K }>) => void): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`an event listener must be a function, got ${typeof listener}`);
    }
    if (type !== '*' && !Object.prototype.hasOwnProperty.call(this.types, type)) {
      throw new TypeError(
        `unknown event type ${JSON.stringify(type)}: use '*' or one of ${Object.keys(this.types).join(', ')}`,
      );
    }
    const fn = listener as (event: E) => void;
    // Arrays are replaced, never mutated, so a listener that (un)subscribes cannot disturb an emit loop.
    let first: boolean;
    if (type === '*') {
      first = this.#all.length === 0;
      this.#all = [...this.#all, fn];
    } else {
      const typed = this.#byType.get(type);
      first = typed === undefined;
      this.#byType.set(type, [...(typed ?? []), fn]);
    }
    if (first) this.#changed();
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      let last: boolean;
      if (type === '*') {
        this.#all = this.#all.filter((l) => l !== fn);
        last = this.#all.length === 0;
      } else {
        const rest = (this.#byType.get(type) ?? []).filter((l) => l !== fn);
        last = rest.length === 0;
        if (last) this.#byType.delete(type);
        else this.#byType.set(type, rest);
      }
      if (last) this.#changed();
    };
  }

  #changed(): void {
    this.active = this.#all.length > 0 || this.#byType.size > 0;
    this.onWantsChange?.(this.active);
  }

  /** Delivers an event to its listeners. */
  emit(event: E): void {
    for (const listener of this.#all) this.#deliver(listener, event);
    const typed = this.#byType.get(event.type);
    if (typed !== undefined) for (const listener of typed) this.#deliver(listener, event);
  }

  #deliver(listener: (event: E) => void, event: E): void {
    try {
      // Typed as returning void, but an async listener returns a promise: its rejection is reported
      // like a throw, instead of reaching the process as an unhandled rejection.
      const result = listener(event) as unknown;
      if (result !== undefined && typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
        (result as PromiseLike<unknown>).then(undefined, this.#report);
      }
    } catch (error) {
      this.#report(error);
    }
  }

  readonly #report = (error: unknown): void => {
    try {
      this.onListenerError(error);
    } catch {
      // The error reporter itself failed: nothing sensible is left to do, and the caller must go on.
    }
  };
}
