import { CacheAtomicError } from './errors/CacheAtomicError';
import type { AtomicFallback } from './options/CacheOptions';
import type { Backplane, BackplaneMessage, CacheStore, DistributedLock, StoredEntry } from './stores/CacheStore';

/** Reports a failed L2, backplane or lock operation (it becomes a `CACHE_L2_ERROR` event). */
export type SharedErrorReporter = (operation: string, error: unknown, scope: string | undefined, key: string | undefined) => void;

/**
 * The cache's link to what it shares with other processes: the L2 store, the backplane and the lock.
 * Every method resolves, never rejects: a failure is reported and answered the way a miss (or a no-op)
 * would be, so Redis being down, slow or returning garbage never fails a call that L1 or the factory
 * can answer. Writes in flight are tracked so that `close()` can wait for them.
 * @internal
 */
export class SharedLayer {
  readonly #pending = new Set<Promise<unknown>>();
  #lookups: Array<{ scope: string; key: string; resolve: (entry: StoredEntry | undefined) => void }> | undefined;

  constructor(
    readonly store: CacheStore | undefined,
    readonly backplane: Backplane | undefined,
    readonly lock: DistributedLock | undefined,
    /** This cache instance's id, the `source` of its backplane messages. */
    readonly source: string,
    private readonly report: SharedErrorReporter,
    /** What `setIfAbsent` and `increment` do when the store fails: reject, or let the caller answer locally. */
    private readonly atomicFallback: AtomicFallback = 'reject',
  ) {}

  /**
   * One key's L2 entry. Lookups made in the same tick (a batch loader's misses, concurrent misses on
   * different keys) are coalesced into one `getMany`: one round trip.
   */
  get(scope: string, key: string): Promise<StoredEntry | undefined> {
    if (this.store === undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      if (this.#lookups === undefined) {
        this.#lookups = [];
        // A promise job, not queueMicrotask: test fake timers fake the latter, never the former.
        void Promise.resolve().then(() => this.#flushLookups());
      }
      this.#lookups.push({ scope, key, resolve });
    });
  }

  async #flushLookups(): Promise<void> {
    const lookups = this.#lookups ?? [];
    this.#lookups = undefined;
    const keys = lookups.map((l) => l.key);
    const scopes = new Set(lookups.map((l) => l.scope));
    const found = await this.#attempt(
      'get',
      scopes.size === 1 ? lookups[0]?.scope : undefined,
      keys.length === 1 ? keys[0] : undefined,
      () => this.store!.getMany(keys),
      keys.map(() => undefined),
    );
    lookups.forEach((l, i) => l.resolve(this.#checked(found[i], l.scope, l.key)));
  }

  async getMany(scope: string, keys: readonly string[]): Promise<Array<StoredEntry | undefined>> {
    if (this.store === undefined || keys.length === 0) return keys.map(() => undefined);
    const found = await this.#attempt('getMany', scope, undefined, () => this.store!.getMany(keys), keys.map(() => undefined));
    return keys.map((key, i) => this.#checked(found[i], scope, key));
  }

  /** Writes entries to the L2, then tells other processes to drop their L1 copies. */
  async set(scope: string, entries: ReadonlyArray<readonly [string, StoredEntry]>): Promise<void> {
    if (entries.length === 0) return;
    if (this.store !== undefined) {
      await this.#attempt('set', scope, entries.length === 1 ? entries[0]?.[0] : undefined, () => this.store!.setMany(entries), undefined);
    }
    await this.publish(scope, { type: 'keys', source: this.source, keys: entries.map(([key]) => key) });
  }

  async delete(scope: string, keys: readonly string[]): Promise<number | undefined> {
    const deleted =
      this.store === undefined
        ? undefined
        : await this.#attempt('delete', scope, keys.length === 1 ? keys[0] : undefined, () => this.store!.deleteMany(keys), undefined);
    await this.publish(scope, { type: 'keys', source: this.source, keys });
    return deleted;
  }

  /**
   * `undefined` when there is no store: the caller decides with its L1 alone. When the store fails, the
   * failure is reported, then a {@link CacheAtomicError} rejects (or, with `atomicFallback: 'local'`,
   * `undefined` lets the caller answer locally).
   */
  async setIfAbsent(scope: string, key: string, entry: StoredEntry): Promise<boolean | undefined> {
    if (this.store === undefined) return undefined;
    let wrote: boolean;
    try {
      wrote = await this.#track(this.store.setIfAbsent(key, entry));
    } catch (error) {
      return this.#atomicFailed('setIfAbsent', scope, key, error);
    }
    if (wrote) await this.publish(scope, { type: 'keys', source: this.source, keys: [key] });
    return wrote;
  }

  /** Like {@link setIfAbsent}; a `TypeError` (not a number there) is the caller's and rejects as it is. */
  async increment(scope: string, key: string, by: number, absent: StoredEntry<number>): Promise<number | undefined> {
    if (this.store === undefined) return undefined;
    let result: number;
    try {
      result = await this.#track(this.store.increment(key, by, absent));
    } catch (error) {
      if (error instanceof TypeError) throw error;
      return this.#atomicFailed('incr', scope, key, error);
    }
    await this.publish(scope, { type: 'keys', source: this.source, keys: [key] });
    return result;
  }

  async deleteByPrefix(scope: string | undefined, prefix: string): Promise<number | undefined> {
    const deleted =
      this.store === undefined ? undefined : await this.#attempt('deleteByPrefix', scope, prefix, () => this.store!.deleteByPrefix(prefix), undefined);
    await this.publish(scope, { type: 'prefix', source: this.source, prefix });
    return deleted;
  }

  async deleteMatching(scope: string, pattern: string): Promise<number | undefined> {
    const deleted =
      this.store === undefined ? undefined : await this.#attempt('deleteMatching', scope, pattern, () => this.store!.deleteMatching(pattern), undefined);
    await this.publish(scope, { type: 'match', source: this.source, pattern });
    return deleted;
  }

  async invalidateTags(tags: readonly string[]): Promise<void> {
    if (this.store !== undefined) await this.#attempt('invalidateTags', undefined, undefined, () => this.store!.invalidateTags(tags), undefined);
    await this.publish(undefined, { type: 'tags', source: this.source, tags });
  }

  async publish(scope: string | undefined, message: BackplaneMessage): Promise<void> {
    if (this.backplane === undefined) return;
    await this.#attempt('publish', scope, undefined, () => this.backplane!.publish(message), undefined);
  }

  /**
   * A release function, `undefined` when someone else holds the lock, or `'unavailable'` when the lock
   * failed. Until it is released, the lock is renewed every `ttlMs / 3` (when the lock can be renewed), so
   * that it lives as long as its holder: only a holder that died lets it expire.
   */
  async tryLock(scope: string, key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined | 'unavailable'> {
    if (this.lock === undefined) return 'unavailable';
    const release = await this.#attempt('lock', scope, key, () => this.lock!.tryAcquire(key, ttlMs), 'unavailable' as const);
    if (typeof release !== 'function') return release;
    const stopRenewing = release.renew === undefined ? undefined : this.#keepAlive(scope, key, ttlMs, release.renew);
    return () => {
      stopRenewing?.();
      return this.#attempt('unlock', scope, key, release, undefined);
    };
  }

  /**
   * Renews a held lock every `ttlMs / 3` until the returned function is called. A failed renewal is
   * reported (`renewLock`) and tried again at the next beat (the lock may still be ours); a lock found lost
   * (expired, perhaps taken over) is reported and no longer renewed.
   */
  #keepAlive(scope: string, key: string, ttlMs: number, renew: (ttlMs: number) => Promise<boolean>): () => void {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const beat = () => {
      timer = undefined;
      this.#track(renew(ttlMs)).then(
        (held) => {
          if (stopped) return;
          if (held) schedule();
          else this.report('renewLock', new Error(`the lock on \`${key}\` expired before its holder renewed it (another process may load it too)`), scope, key);
        },
        (error: unknown) => {
          if (stopped) return;
          this.report('renewLock', error, scope, key);
          schedule();
        },
      );
    };
    const schedule = () => {
      timer = setTimeout(beat, Math.max(1, Math.floor(ttlMs / 3)));
      // A renewal never keeps the process alive by itself: the load that holds the lock does.
      (timer as { unref?: () => void }).unref?.();
    };
    schedule();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }

  /** Resolves once every write in flight has settled. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #atomicFailed(operation: 'setIfAbsent' | 'incr', scope: string, key: string, error: unknown): undefined {
    this.report(operation === 'incr' ? 'increment' : operation, error, scope, key);
    if (this.atomicFallback === 'local') return undefined;
    throw new CacheAtomicError(operation, key, scope, error);
  }

  async #attempt<T, F>(operation: string, scope: string | undefined, key: string | undefined, run: () => Promise<T>, fallback: F): Promise<T | F> {
    try {
      return await this.#track(run());
    } catch (error) {
      this.report(operation, error, scope, key);
      return fallback;
    }
  }

  /** A slot that is not an entry (an undecodable value, garbage) is reported and answered as a miss. */
  #checked(entry: unknown, scope: string, key: string): StoredEntry | undefined {
    if (entry === undefined || entry === null) return undefined;
    const e = entry as Partial<StoredEntry>;
    if (entry instanceof Error || typeof e.freshUntil !== 'number' || typeof e.staleUntil !== 'number' || !Array.isArray(e.tags)) {
      this.report('decode', entry instanceof Error ? entry : new TypeError(`the L2 returned something else than an entry for \`${key}\``), scope, key);
      return undefined;
    }
    return e as StoredEntry;
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#pending.add(promise);
    const settle = () => this.#pending.delete(promise);
    promise.then(settle, settle);
    return promise;
  }
}

