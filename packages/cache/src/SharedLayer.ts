import { AutoRecovery, isCallerError } from './AutoRecovery';
import type { OwedAction } from './AutoRecovery';
import { CacheAtomicError } from './errors/CacheAtomicError';
import type { AtomicFallback, Clock } from './options/CacheOptions';
import type { Backplane, BackplaneMessage, CacheStore, DistributedLock, StoredEntry } from './stores/CacheStore';

/** Reports a failed L2, backplane or lock operation (it becomes a `CACHE_L2_ERROR` event). */
export type SharedErrorReporter = (operation: string, error: unknown, scope: string | undefined, key: string | undefined) => void;

/**
 * The cache's link to what it shares with other processes: the L2 store, the backplane and the lock.
 * Every method resolves, never rejects: a failure is reported and answered the way a miss (or a no-op)
 * would be, so Redis being down, slow or returning garbage never fails a call that L1 or the factory
 * can answer. Writes in flight are tracked so that `close()` can wait for them.
 *
 * A write, delete or invalidation is told to other processes only once the L2 has it: one that failed
 * is kept by {@link AutoRecovery} (unless `autoRecovery` is off) and replayed, L2 first and message
 * second, once the L2 is usable again; a message that failed is kept and sent again the same way.
 * @internal
 */
export class SharedLayer {
  readonly #pending = new Set<Promise<unknown>>();
  #lookups: Array<{ scope: string; key: string; resolve: (entry: StoredEntry | undefined) => void }> | undefined;
  readonly #recovery: AutoRecovery | undefined;
  readonly #unwatch: Array<() => void> = [];

  constructor(
    readonly store: CacheStore | undefined,
    readonly backplane: Backplane | undefined,
    readonly lock: DistributedLock | undefined,
    /** This cache instance's id, the `source` of its backplane messages. */
    readonly source: string,
    private readonly report: SharedErrorReporter,
    /** The cache's clock: a delete carries its time from it, as a write carries its stamp. */
    private readonly clock: Clock,
    /** What `setIfAbsent` and `increment` do when the store fails: reject, or let the caller answer locally. */
    private readonly atomicFallback: AtomicFallback = 'reject',
    /** `undefined`: failed operations are dropped (reported all the same). */
    recovery?: { readonly maxItems: number; readonly retryMs: number },
  ) {
    if (recovery === undefined || (store === undefined && backplane === undefined)) return;
    this.#recovery = new AutoRecovery(store, backplane, source, report, recovery.maxItems, recovery.retryMs, clock);
    const replay = () => this.recover();
    for (const watched of [store, backplane]) {
      const stop = watched?.onAvailable?.(replay);
      if (typeof stop === 'function') this.#unwatch.push(stop);
    }
  }

  /** Replays at once what failed earlier (the connection is back); resolves when done or failed again. */
  recover(): Promise<void> {
    return this.#recovery === undefined ? Promise.resolve() : this.#track(this.#recovery.replay());
  }

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

  /**
   * Writes entries to the L2, then tells other processes to drop their L1 copies. If the L2 write fails
   * it is kept for replay and nothing is published now (the message goes out after the replayed write);
   * a value the store cannot encode (`TypeError`) deletes the key instead, so nobody reads the old one.
   */
  async set(scope: string, entries: ReadonlyArray<readonly [string, StoredEntry]>): Promise<void> {
    if (entries.length === 0) return;
    const keys = entries.map(([key]) => key);
    if (this.store !== undefined) {
      const failure = await this.#failure('set', scope, keys.length === 1 ? keys[0] : undefined, () => this.store!.setMany(entries));
      if (failure !== undefined && isCallerError(failure)) {
        await this.delete(scope, keys);
        return;
      }
      if (failure !== undefined && this.#recovery !== undefined) {
        for (const [key, entry] of entries) this.#recovery.owe({ op: 'set', key, entry }, scope, 'store');
        return;
      }
      if (failure === undefined) this.#recovery?.settle(entries.map(([key, entry]) => ({ op: 'set', key, entry })));
    }
    await this.publish(scope, { type: 'keys', source: this.source, keys });
  }

  async delete(scope: string, keys: readonly string[]): Promise<number | undefined> {
    let deleted: number | undefined;
    if (this.store !== undefined) {
      const stamp = this.clock.now();
      const actions = keys.map((key): OwedAction => ({ op: 'delete', key }));
      const result = await this.#owing('delete', scope, keys.length === 1 ? keys[0] : undefined, () => this.store!.deleteMany(keys, stamp), actions);
      if (result === OWED) return undefined;
      deleted = result;
    }
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
    let deleted: number | undefined;
    if (this.store !== undefined) {
      const stamp = this.clock.now();
      const result = await this.#owing('deleteByPrefix', scope, prefix, () => this.store!.deleteByPrefix(prefix, stamp), [{ op: 'prefix', prefix }]);
      if (result === OWED) return undefined;
      deleted = result;
    }
    await this.publish(scope, { type: 'prefix', source: this.source, prefix });
    return deleted;
  }

  async deleteMatching(scope: string, pattern: string): Promise<number | undefined> {
    let deleted: number | undefined;
    if (this.store !== undefined) {
      const stamp = this.clock.now();
      const result = await this.#owing('deleteMatching', scope, pattern, () => this.store!.deleteMatching(pattern, stamp), [{ op: 'match', pattern }]);
      if (result === OWED) return undefined;
      deleted = result;
    }
    await this.publish(scope, { type: 'match', source: this.source, pattern });
    return deleted;
  }

  async invalidateTags(tags: readonly string[]): Promise<void> {
    if (this.store !== undefined) {
      const stamp = this.clock.now();
      const actions = tags.map((tag): OwedAction => ({ op: 'tag', tag }));
      const result = await this.#owing('invalidateTags', undefined, undefined, () => this.store!.invalidateTags(tags, stamp), actions);
      if (result === OWED) return;
    }
    await this.publish(undefined, { type: 'tags', source: this.source, tags });
  }

  /** Sends `message`; one that fails is kept and sent again (after what is owed before it) by the replay. */
  async publish(scope: string | undefined, message: BackplaneMessage): Promise<void> {
    if (this.backplane === undefined) return;
    const failure = await this.#failure('publish', scope, undefined, () => this.backplane!.publish(message));
    if (failure === undefined || this.#recovery === undefined) return;
    for (const action of actionsOf(message)) this.#recovery.owe(action, scope, 'publish');
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

  /**
   * After {@link drain}: a last replay of what is owed, then the retries stop; what is still owed is
   * reported as abandoned.
   */
  async close(): Promise<void> {
    for (const stop of this.#unwatch.splice(0)) stop();
    await this.#recovery?.close();
  }

  #atomicFailed(operation: 'setIfAbsent' | 'incr', scope: string, key: string, error: unknown): undefined {
    this.report(operation === 'incr' ? 'increment' : operation, error, scope, key);
    if (this.atomicFallback === 'local') return undefined;
    throw new CacheAtomicError(operation, key, scope, error);
  }

  async #attempt<T, F>(operation: string, scope: string | undefined, key: string | undefined, run: () => Promise<T>, fallback: F): Promise<T | F> {
    try {
      const result = await this.#track(run());
      this.#succeeded();
      return result;
    } catch (error) {
      this.report(operation, error, scope, key);
      return fallback;
    }
  }

  /** Runs `run`; resolves to its error (reported) or `undefined` when it succeeded. */
  async #failure(operation: string, scope: string | undefined, key: string | undefined, run: () => Promise<unknown>): Promise<unknown> {
    try {
      await this.#track(run());
      this.#succeeded();
      return undefined;
    } catch (error) {
      this.report(operation, error, scope, key);
      return error ?? new Error(`${operation} failed`);
    }
  }

  /**
   * Runs an L2 operation; when it fails (and can be replayed), keeps `actions` for replay and resolves to
   * {@link OWED}; when it succeeds, drops what was kept for the same keys (superseded).
   */
  async #owing<T>(operation: string, scope: string | undefined, key: string | undefined, run: () => Promise<T>, actions: readonly OwedAction[]): Promise<T | undefined | typeof OWED> {
    let result: T;
    try {
      result = await this.#track(run());
    } catch (error) {
      this.report(operation, error, scope, key);
      if (this.#recovery === undefined || isCallerError(error)) return undefined;
      for (const action of actions) this.#recovery.owe(action, scope, 'store');
      return OWED;
    }
    this.#recovery?.settle(actions);
    this.#succeeded();
    return result;
  }

  /** The L2 or the backplane answered: if something is owed, this is the moment to replay it. */
  #succeeded(): void {
    if (this.#recovery !== undefined && this.#recovery.size > 0) void this.recover();
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

/** Said by {@link SharedLayer}'s L2 operations that failed and were kept for replay. */
const OWED: unique symbol = Symbol('owed');

/** The per-key (per-tag, …) pieces of a message, to keep when it could not be sent. */
function actionsOf(message: BackplaneMessage): OwedAction[] {
  switch (message.type) {
    case 'keys':
      return message.keys.map((key) => ({ op: 'delete', key }));
    case 'tags':
      return message.tags.map((tag) => ({ op: 'tag', tag }));
    case 'prefix':
      return [{ op: 'prefix', prefix: message.prefix }];
    case 'match':
      return [{ op: 'match', pattern: message.pattern }];
    case 'scope':
      return [{ op: 'scope', name: message.scope }];
  }
}
