import QuickLRU from 'quick-lru';
import { keyOfSlot, slotOf } from './lruSlot';
import type { LruSlot } from './lruSlot';

/**
 * quick-lru with an exact bound: never more than `maxSize` entries, evicted one at a time.
 *
 * quick-lru keeps two generations of keys. Writes, and reads of a key in the older generation, put the
 * key in the newer one; a read of a key already in the newer generation costs a single map lookup and
 * changes nothing. On its own quick-lru lets each generation grow to `maxSize`, so it may hold up to
 * 2 × `maxSize` entries, and it drops a whole generation at once.
 *
 * Here we count live keys ourselves and, before a new key would exceed `maxSize`, evict the single
 * oldest entry of quick-lru's ascending order: the older generation's entries first, in the order they
 * were written there, then the newer generation's. So an entry used since the last generation swap is
 * evicted only after every entry that was not; within a generation the order is insertion, not use
 * (the approximation that keeps a hit to one lookup). With at most `maxSize` live keys, quick-lru's own
 * generation swap happens when the newer generation holds all of them, so it only ever discards an
 * empty generation; its eviction callback is wired to ours all the same, so nothing could go uncounted.
 *
 * Keys are local keys; quick-lru holds each under its {@link LruSlot} (`#42` under the number 42). Methods
 * take a key, or a slot a caller already has; `keys()`, `entries()` and evictions give keys.
 * @internal
 */
export class BoundedLru<V> {
  readonly #lru: QuickLRU<LruSlot, V>;
  readonly #onEvict: (key: string, value: V) => void;
  #size = 0;
  /** The older generation the iterator below walks (quick-lru replaces the map at each generation swap). */
  #older: Map<LruSlot, unknown> | undefined;
  /**
   * One live iterator over the older generation's keys. That map only ever loses keys (writes go to the
   * newer one), and every key before the iterator's position has been evicted, so its next key is the
   * oldest live one. A fresh `keys().next()` would instead skip every deleted slot from the start of the
   * map's table each time: a cost per eviction that grows with the entries evicted since the last swap.
   */
  #olderKeys: Iterator<LruSlot> | undefined;
  readonly maxSize: number;

  constructor(maxSize: number, onEvict: (key: string, value: V) => void) {
    this.maxSize = maxSize;
    this.#onEvict = onEvict;
    this.#lru = new QuickLRU<LruSlot, V>({
      maxSize,
      onEviction: (slot, value) => {
        this.#size--;
        onEvict(keyOfSlot(slot), value);
      },
    });
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Reads a value and marks it used (moves it to the newer generation if it is in the older one). Takes a
   * key, or the number an integer-derived key is held under (42 for `#42`).
   */
  get(key: string | number): V | undefined {
    return this.#lru.get(typeof key === 'string' ? slotOf(key) : key);
  }

  /** Reads a value without touching its recency. */
  peek(key: string): V | undefined {
    return this.#lru.peek(slotOf(key));
  }

  /**
   * Writes a value (never `undefined`) into the newer generation, evicting the oldest entry when full.
   * Returns the value it replaced under the same key, if any.
   */
  set(key: string, value: V): V | undefined {
    const slot = slotOf(key);
    const previous = this.#lru.peek(slot);
    if (previous !== undefined) {
      // Deleting first keeps a single copy of the key: quick-lru would otherwise shadow an older-generation copy.
      this.#lru.delete(slot);
    } else {
      if (this.#size >= this.maxSize) this.#evictOldest();
      this.#size++;
    }
    this.#lru.set(slot, value);
    return previous;
  }

  delete(key: string): boolean {
    return this.#deleteSlot(slotOf(key));
  }

  #deleteSlot(slot: LruSlot): boolean {
    if (!this.#lru.delete(slot)) return false;
    this.#size--;
    return true;
  }

  clear(): void {
    this.#lru.clear();
    this.#size = 0;
    this.#older = this.#olderKeys = undefined;
  }

  /** Keys in eviction order: the next one evicted first. */
  *keys(): IterableIterator<string> {
    for (const [slot] of this.#lru.entriesAscending()) yield keyOfSlot(slot);
  }

  /** Entries in eviction order: the next one evicted first. */
  *entries(): IterableIterator<[string, V]> {
    for (const [slot, value] of this.#lru.entriesAscending()) yield [keyOfSlot(slot), value];
  }

  #evictOldest(): void {
    // When full, the older generation is never empty (quick-lru swaps as soon as the newer one holds every
    // live key), so the oldest entry is its first key. quick-lru 7 exposes that map as `__oldCache` (a
    // getter it keeps for its tests): reading its first key costs one map iterator, where
    // `entriesAscending()` costs two generators, a fifth of a miss. Without the getter, walk the order.
    const older = (this.#lru as unknown as { __oldCache?: Map<LruSlot, unknown> }).__oldCache;
    let slot: LruSlot | undefined;
    if (older !== undefined && older.size > 0) {
      if (older !== this.#older) {
        this.#older = older;
        this.#olderKeys = older.keys() as Iterator<LruSlot>;
      }
      const next = (this.#olderKeys as Iterator<LruSlot>).next();
      slot = next.done === true ? undefined : next.value;
    }
    slot ??= this.#firstAscending();
    if (slot === undefined) return;
    const value = this.#lru.peek(slot) as V;
    this.#deleteSlot(slot);
    this.#onEvict(keyOfSlot(slot), value);
  }

  #firstAscending(): LruSlot | undefined {
    const first = this.#lru.entriesAscending().next();
    return first.done ? undefined : first.value[0];
  }
}
