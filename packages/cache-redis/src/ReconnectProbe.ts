import type { RedisClient } from './LuaScript';
import type { RedisGuard } from './RedisGuard';
import { notifyListeners } from './notifyListeners';

/**
 * Closes a guard's circuit as soon as its client is usable again, instead of at the breaker's half-open
 * timer: on every ioredis `'ready'` (a reconnection), and every `breaker.probeEvery` while the circuit is
 * open (a paused or stopped Redis keeps its connections: no `'ready'` then; single server only), it sends
 * a `PING` (under the timeout, outside the breaker); if that answers, the circuit closes and the
 * `onAvailable` listeners run, so that the cache replays at once what it could not write meanwhile.
 * @internal
 */
export class ReconnectProbe {
  readonly #client: RedisClient;
  readonly #guard: RedisGuard;
  readonly #listeners = new Set<() => void>();
  readonly #onReady: () => void;
  readonly #stopWatching: () => void;
  #timer: NodeJS.Timeout | undefined;
  #probing = false;

  constructor(client: RedisClient, guard: RedisGuard) {
    this.#client = client;
    this.#guard = guard;
    this.#onReady = () => void this.#probe();
    client.on('ready', this.#onReady);
    // Not on a Cluster: a PING answered by any node says nothing of the node that failed, and closing the
    // one breaker of the whole Cluster every second would let its failures through again and again.
    this.#stopWatching = client.isCluster ? () => undefined : guard.onOpen(() => this.#probeWhileOpen());
  }

  /** Calls `listener` after each reconnection that answered a `PING`; returns a function that stops it. */
  onAvailable(listener: () => void): () => void {
    if (typeof listener !== 'function') throw new TypeError(`\`onAvailable\` takes a function, got ${typeof listener}`);
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Stops listening to the client, and probing. */
  close(): void {
    this.#client.off('ready', this.#onReady);
    this.#stopWatching();
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  async #probe(): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    try {
      if (await this.#guard.recover(() => this.#client.ping())) {
        clearInterval(this.#timer);
        this.#timer = undefined;
        this.#notify();
      }
    } finally {
      this.#probing = false;
    }
  }

  #probeWhileOpen(): void {
    const every = this.#guard.probeEveryMs;
    if (every === undefined || this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (this.#guard.state === 'closed') {
        clearInterval(this.#timer);
        this.#timer = undefined;
        return;
      }
      void this.#probe();
    }, every);
    this.#timer.unref();
  }

  #notify(): void {
    notifyListeners(this.#listeners);
  }
}
