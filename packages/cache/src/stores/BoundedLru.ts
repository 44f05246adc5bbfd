import QuickLRU from 'quick-lru';

/**
 * quick-lru made exact: an exact bound and exact least-recently-used order.
 *
 * quick-lru keeps two generations of at most `maxSize` keys each, so on its own it may hold up to
 * 2 × `maxSize` entries and drops a whole generation at once; and a read only moves a key that sits in
 * the old generation, so inside the current one the order is insertion order, not use.
 *
 * Here we count live keys ourselves and, before a new key would exceed `maxSize`, evict the single
 * least recently used one: the first of quick-lru's ascending order. For that order to be exact, every
 * read or write re-inserts its key (delete, then set), so the newest use is always last. Because a key
 * is deleted before it is set again, quick-lru never keeps a shadowed copy in its old generation, and
 * with at most `maxSize` live keys its own generation swap only ever discards an empty generation.
 * @internal
 */
export class BoundedLru<V> {
  readonly #lru: QuickLRU<string, V>;
  readonly #onEvict: (key: string, value: V) => void;
  #size = 0;
  readonly maxSize: number;

  constructor(maxSize: number, onEvict: (key: string, value: V) => void) {
    this.maxSize = maxSize;
    this.#lru = new QuickLRU<string, V>({ maxSize });
    this.#onEvict = onEvict;
  }

  get size(): number {
    return this.#size;
  }

  /** Reads a value and marks it most recently used. */
  get(key: string): V | undefined {
    const value = this.#lru.peek(key);
    if (value !== undefined) {
      this.#lru.delete(key);
      this.#lru.set(key, value);
    }
    return value;
  }

  /** Reads a value without touching its recency. */
  peek(key: string): V | undefined {
    return this.#lru.peek(key);
  }

  /** Writes a value as the most recently used, evicting the least recently used when full. */
  set(key: string, value: V): void {
    if (this.#lru.has(key)) {
      this.#lru.delete(key);
    } else {
      if (this.#size >= this.maxSize) this.#evictOldest();
      this.#size++;
    }
    this.#lru.set(key, value);
  }

  delete(key: string): boolean {
    if (!this.#lru.delete(key)) return false;
    this.#size--;
    return true;
  }

  clear(): void {
    this.#lru.clear();
    this.#size = 0;
  }

  /** Keys from least to most recently used. */
  *keys(): IterableIterator<string> {
    for (const [key] of this.#lru.entriesAscending()) yield key;
  }

  /** Entries from least to most recently used. */
  entries(): IterableIterator<[string, V]> {
    return this.#lru.entriesAscending();
  }

  #evictOldest(): void {
    const oldest = this.#lru.entriesAscending().next();
    if (oldest.done) return;
    const [key, value] = oldest.value;
    this.#lru.delete(key);
    this.#size--;
    this.#onEvict(key, value);
  }
}
