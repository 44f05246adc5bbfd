import type { RedisClient } from './LuaScript';
import type { RedisGuard } from './RedisGuard';

/**
 * Closes a guard's circuit as soon as its client is usable again, instead of at the breaker's half-open
 * timer: on every ioredis `'ready'` (a reconnection) it sends a `PING` (under the timeout, outside the
 * breaker); if that answers, the circuit closes and the `onAvailable` listeners run, so that the cache
 * replays at once what it could not write during the outage.
 * @internal
 */
export class ReconnectProbe {
  readonly #client: RedisClient;
  readonly #listeners = new Set<() => void>();
  readonly #onReady: () => void;

  constructor(client: RedisClient, guard: RedisGuard) {
    this.#client = client;
    this.#onReady = () => {
      void guard.recover(() => client.ping()).then((answered) => {
        if (answered) this.#notify();
      });
    };
    client.on('ready', this.#onReady);
  }

  /** Calls `listener` after each reconnection that answered a `PING`; returns a function that stops it. */
  onAvailable(listener: () => void): () => void {
    if (typeof listener !== 'function') throw new TypeError(`\`onAvailable\` takes a function, got ${typeof listener}`);
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Stops listening to the client. */
  close(): void {
    this.#client.off('ready', this.#onReady);
    this.#listeners.clear();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (error) {
        // A listener's bug must not stop the others, nor reach ioredis' event loop; it is not hidden either.
        process.emitWarning(error instanceof Error ? error : new Error(String(error)), { code: 'TOOLKIT_CACHE_LISTENER' });
      }
    }
  }
}
