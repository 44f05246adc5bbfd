/**
 * One cached value and its timeline (times in ms on the scope's clock, `Infinity` = never): fresh until
 * `freshUntil`, then stale (served only by fail-safe) until `staleUntil`, then gone. Made by
 * {@link cacheEntry}, in one of two forms:
 *
 * - **Compact**, for the common case (no fail-safe window, no refresh-ahead, no tags, and an expiry in
 *   whole ms): two fields, the value and `expiry`, a small integer counted from the start of an epoch.
 *   A small integer is stored in the object itself (a V8 Smi), where a time in ms since 1970 needs a
 *   16-byte boxed double. The epoch's start and the rest of the timeline (stale when it expires, never
 *   refreshed ahead, no tags) live on the prototype of the epoch's class, so they cost no field: an entry
 *   is 40 bytes on 64-bit Node, where the full form below is 64 plus its boxed times.
 * - **Full**, for everything else: each time and the tags in a field of its own.
 *
 * Both answer a freshness check the same way, `now - entry.base < entry.expiry`, with no branch on the
 * form.
 * @internal
 */
export abstract class CacheEntry<V = unknown> {
  /** Where `expiry` counts from: an epoch's start (compact form), `0` (full form), `Infinity` (never expires). */
  declare readonly base: number;
  abstract readonly freshUntil: number;
  abstract readonly staleUntil: number;
  /** A hit at or after this time starts one background refresh (refresh-ahead). */
  abstract readonly refreshAt: number;
  abstract readonly tags: readonly string[];

  constructor(
    readonly value: V,
    /** Fresh while `now - base < expiry`. */
    readonly expiry: number,
  ) {}
}

/** The full form: every part of the timeline in a field of its own. */
class FullEntry<V> extends CacheEntry<V> {
  constructor(
    value: V,
    freshUntil: number,
    readonly staleUntil: number,
    readonly refreshAt: number,
    readonly tags: readonly string[],
  ) {
    super(value, freshUntil);
  }

  get freshUntil(): number {
    return this.expiry;
  }
}
Object.defineProperty(FullEntry.prototype, 'base', { value: 0 });

const NO_TAGS: readonly string[] = Object.freeze([]);

/** The compact form; each epoch is a subclass whose prototype holds its `base`. */
abstract class CompactEntry<V> extends CacheEntry<V> {
  declare readonly refreshAt: number;
  declare readonly tags: readonly string[];

  get freshUntil(): number {
    return this.base + this.expiry;
  }

  get staleUntil(): number {
    return this.base + this.expiry;
  }
}
Object.defineProperty(CompactEntry.prototype, 'refreshAt', { value: Number.POSITIVE_INFINITY });
Object.defineProperty(CompactEntry.prototype, 'tags', { value: NO_TAGS });

type CompactClass = new (value: unknown, expiry: number) => CacheEntry;

function epochClass(base: number): CompactClass {
  class EpochEntry extends CompactEntry<unknown> {}
  Object.defineProperty(EpochEntry.prototype, 'base', { value: base });
  return EpochEntry;
}

/**
 * How far from its epoch's start a compact expiry may be, either way: 2^30 ms, about 12.4 days. Below it
 * an integer is a Smi on every V8 build (31 bits with pointer compression, 32 without).
 */
export const EPOCH_SPAN = 2 ** 30;

/** Entries that never expire: `now - Infinity` is below any expiry. */
const Never = epochClass(Number.POSITIVE_INFINITY);

/**
 * The epoch new compact entries count from. It starts at the first expiry written; an expiry at or past
 * its end starts the next one, there (a process running for weeks goes through one epoch per 12 days,
 * clocks that jump forward further through more). Entries keep the epoch they were made in, so nothing is
 * ever rewritten. An expiry earlier than `EPOCH_SPAN` before the start (a clock far behind the one that
 * started the epoch) takes the full form. Each epoch is one class: a hit path sees one or two of them.
 */
let current: { readonly base: number; readonly Entry: CompactClass } | undefined;

function compactClassFor(freshUntil: number): CompactClass | undefined {
  if (current !== undefined) {
    const offset = freshUntil - current.base;
    if (offset < EPOCH_SPAN) return offset > -EPOCH_SPAN ? current.Entry : undefined;
  }
  current = { base: freshUntil, Entry: epochClass(freshUntil) };
  return current.Entry;
}

/** The entry of a value and its timeline, in the compact form whenever the timeline allows it. @internal */
export function cacheEntry<V>(
  value: V,
  freshUntil: number,
  staleUntil: number,
  refreshAt: number,
  tags: readonly string[],
): CacheEntry<V> {
  if (staleUntil === freshUntil && refreshAt === Number.POSITIVE_INFINITY && tags.length === 0) {
    if (freshUntil === Number.POSITIVE_INFINITY) return new Never(value, 0) as CacheEntry<V>;
    if (Number.isInteger(freshUntil)) {
      const Entry = compactClassFor(freshUntil);
      if (Entry !== undefined) return new Entry(value, freshUntil - (Entry.prototype as CacheEntry).base) as CacheEntry<V>;
    }
  }
  return new FullEntry(value, freshUntil, staleUntil, refreshAt, tags);
}

