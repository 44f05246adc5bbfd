import QuickLRU from 'quick-lru';

/**
 * quick-lru with an exact bound.
 *
 * quick-lru keeps two generations of at most `maxSize` keys each, so on its own it may hold up to
 * 2 × `maxSize` entries, and it drops a whole generation at once. Here we count live keys ourselves
 * and, before a new key would exceed `maxSize`, evict the single least recently used one (the first
 * of quick-lru's ascending order). Updates delete before they set, so quick-lru never keeps a
 * shadowed copy in its old generation: the oldest live key is always the first one it yields, and
 * with at most `maxSize` live keys quick-lru's own generation swap never drops a live entry.
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
    return this.#lru.get(key);
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
