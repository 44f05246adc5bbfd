import { compileGlob } from '../keys/glob';
import type { Clock } from '../options/CacheOptions';
import type { Backplane, BackplaneMessage, CacheStore, DistributedLock, LockRelease, StoredEntry } from './CacheStore';

const systemClock: Clock = { now: () => Date.now() };

/**
 * A {@link CacheStore} in this process's memory: the reference implementation of the store contract, and
 * an L2 for tests (several `Cache` instances sharing one `MemoryStore` behave like processes sharing a
 * Redis). Tags are invalidated in O(1) with versions: each tag has a counter, an entry remembers the
 * counters of its tags when written, and reads as missing once any of them moved on.
 */
export class MemoryStore implements CacheStore {
  readonly #entries = new Map<string, { entry: StoredEntry; versions: number[] }>();
  readonly #tagVersions = new Map<string, number>();
  readonly #clock: Clock;

  constructor(options: { clock?: Clock } = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  /** Keys held now (expired ones included until read), for tests. */
  get size(): number {
    return this.#entries.size;
  }

  getMany(keys: readonly string[]): Promise<Array<StoredEntry | Error | undefined>> {
    return Promise.resolve(keys.map((key) => this.#live(key)));
  }

  /** Writes entries; one whose `stamp` is older than the stamp of the entry there is not written. */
  setMany(entries: ReadonlyArray<readonly [string, StoredEntry]>): Promise<void> {
    for (const [key, entry] of entries) {
      const held = this.#entries.get(key)?.entry.stamp;
      if (held !== undefined && entry.stamp !== undefined && held > entry.stamp) continue;
      this.#put(key, entry);
    }
    return Promise.resolve();
  }

  setIfAbsent(key: string, entry: StoredEntry): Promise<boolean> {
    if (this.#live(key) !== undefined) return Promise.resolve(false);
    this.#put(key, entry);
    return Promise.resolve(true);
  }

  increment(key: string, by: number, absent: StoredEntry<number>): Promise<number> {
    const current = this.#live(key);
    if (current === undefined) {
      this.#put(key, { ...absent, value: by });
      return Promise.resolve(by);
    }
    if (typeof current.value !== 'number') {
      return Promise.reject(new TypeError(`cannot increment \`${key}\`: it holds a ${typeof current.value}, not a number`));
    }
    const next = current.value + by;
    const held = this.#entries.get(key);
    if (held !== undefined) held.entry = { ...current, value: next };
    return Promise.resolve(next);
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const key of keys) if (this.#live(key) !== undefined && this.#entries.delete(key)) deleted++;
    return Promise.resolve(deleted);
  }

  deleteByPrefix(prefix: string): Promise<number> {
    return this.#deleteWhere((key) => key.startsWith(prefix));
  }

  deleteMatching(pattern: string): Promise<number> {
    const matcher = compileGlob(pattern);
    return this.#deleteWhere((key) => matcher.test(key));
  }

  invalidateTags(tags: readonly string[]): Promise<void> {
    for (const tag of tags) {
      this.#tagVersions.set(tag, (this.#tagVersions.get(tag) ?? 0) + 1);
      this.#entries.delete(tag); // the entry whose key is the tag, however it was written
    }
    return Promise.resolve();
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  #put(key: string, entry: StoredEntry): void {
    this.#entries.set(key, { entry, versions: entry.tags.map((tag) => this.#tagVersions.get(tag) ?? 0) });
  }

  #live(key: string): StoredEntry | undefined {
    const held = this.#entries.get(key);
    if (held === undefined) return undefined;
    const stale = this.#clock.now() >= held.entry.staleUntil;
    const invalidated = held.entry.tags.some((tag, i) => (this.#tagVersions.get(tag) ?? 0) !== held.versions[i]);
    if (stale || invalidated) {
      this.#entries.delete(key);
      return undefined;
    }
    return held.entry;
  }

  #deleteWhere(matches: (key: string) => boolean): Promise<number> {
    let deleted = 0;
    for (const key of [...this.#entries.keys()]) {
      if (matches(key) && this.#live(key) !== undefined && this.#entries.delete(key)) deleted++;
    }
    return Promise.resolve(deleted);
  }
}

/**
 * Connects several `Cache` instances of one process as if they were processes sharing a pub/sub
 * channel: each `connect()` is one instance's {@link Backplane}. For tests and examples.
 */
export class MemoryBackplaneHub {
  readonly #subscribers = new Set<MemoryBackplane>();

  /** A backplane for one more instance. */
  connect(): Backplane {
    return new MemoryBackplane(this.#subscribers);
  }

  /** Simulates a lost and recovered connection: every subscriber's `onReconnect` runs. */
  reconnectAll(): void {
    for (const subscriber of this.#subscribers) subscriber.reconnect();
  }
}

class MemoryBackplane implements Backplane {
  #onMessage: ((message: BackplaneMessage) => void) | undefined;
  #onReconnect: (() => void) | undefined;

  constructor(private readonly subscribers: Set<MemoryBackplane>) {}

  publish(message: BackplaneMessage): Promise<void> {
    // Delivered asynchronously, like a network would: never inside the publisher's call stack.
    for (const subscriber of this.subscribers) queueMicrotask(() => subscriber.#onMessage?.(message));
    return Promise.resolve();
  }

  subscribe(onMessage: (message: BackplaneMessage) => void, onReconnect: () => void): Promise<void> {
    this.#onMessage = onMessage;
    this.#onReconnect = onReconnect;
    this.subscribers.add(this);
    return Promise.resolve();
  }

  unsubscribe(): Promise<void> {
    this.subscribers.delete(this);
    return Promise.resolve();
  }

  reconnect(): void {
    this.#onReconnect?.();
  }
}

/** A {@link DistributedLock} within one process, with expiry: for tests and single-process use. */
export class MemoryLock implements DistributedLock {
  readonly #held = new Map<string, { readonly token: symbol; until: number }>();
  readonly #clock: Clock;

  constructor(options: { clock?: Clock } = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  tryAcquire(key: string, ttlMs: number): Promise<LockRelease | undefined> {
    const now = this.#clock.now();
    const current = this.#held.get(key);
    if (current !== undefined && now < current.until) return Promise.resolve(undefined);
    const token = Symbol(key);
    this.#held.set(key, { token, until: now + ttlMs });
    // Released and renewed by token: a holder whose lock expired cannot free or extend the next holder's.
    const mine = () => {
      const held = this.#held.get(key);
      return held !== undefined && held.token === token && this.#clock.now() < held.until ? held : undefined;
    };
    const release: LockRelease = async () => {
      if (mine() !== undefined) this.#held.delete(key);
    };
    release.renew = async (renewMs: number) => {
      const held = mine();
      if (held !== undefined) held.until = this.#clock.now() + renewMs;
      return held !== undefined;
    };
    return Promise.resolve(release);
  }
}
