import { CacheEventType } from './CacheEvents';
import type { CacheEvent, CacheEventListener, CacheEventMap, CacheEventName } from './CacheEvents';

/**
 * Listeners of one emitter (a cache or a scope). `active` lets emitters skip building an event
 * nobody listens to, which keeps the hit path free of allocations.
 * @internal
 */
export class EventBus {
  #all: CacheEventListener[] = [];
  #byType = new Map<CacheEventName, Array<(event: never) => void>>();
  /** True while at least one listener is registered. */
  active = false;

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  on<K extends CacheEventName>(type: K | '*', listener: (event: CacheEventMap[K]) => void): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`an event listener must be a function, got ${typeof listener}`);
    }
    if (type !== '*' && !Object.prototype.hasOwnProperty.call(CacheEventType, type)) {
      throw new TypeError(
        `unknown event type ${JSON.stringify(type)}: use '*' or one of ${Object.keys(CacheEventType).join(', ')}`,
      );
    }
    if (type === '*') {
      this.#all = [...this.#all, listener as CacheEventListener];
    } else {
      this.#byType.set(type, [...(this.#byType.get(type) ?? []), listener as (event: never) => void]);
    }
    this.active = true;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      if (type === '*') {
        this.#all = this.#all.filter((l) => l !== listener);
      } else {
        const rest = (this.#byType.get(type) ?? []).filter((l) => l !== listener);
        if (rest.length === 0) this.#byType.delete(type);
        else this.#byType.set(type, rest);
      }
      this.active = this.#all.length > 0 || this.#byType.size > 0;
    };
  }

  /** Delivers an event; a listener that throws is reported, never propagated to the caller. */
  emit(event: CacheEvent): void {
    // Arrays are replaced, never mutated, so a listener that (un)subscribes cannot disturb this loop.
    for (const listener of this.#all) this.#deliver(listener, event);
    const typed = this.#byType.get(event.type);
    if (typed !== undefined) for (const listener of typed) this.#deliver(listener as CacheEventListener, event);
  }

  #deliver(listener: CacheEventListener, event: CacheEvent): void {
    try {
      listener(event);
    } catch (error) {
      try {
        this.onListenerError(error);
      } catch {
        // The error reporter itself failed: nothing sensible is left to do, and the call must go on.
      }
    }
  }
}
