/**
 * One cached value and its timeline (all times in ms since the epoch, `Infinity` = never):
 * fresh until `freshUntil`, then stale (served only by fail-safe) until `staleUntil`, then gone.
 * @internal
 */
export class CacheEntry<V = unknown> {
  /** After a fail-safe activation the stale value is served, without asking the factory, until then. */
  throttledUntil = 0;
  /** The promise a hit answers with, made on the first hit and shared by the next ones (no allocation). */
  resolved: Promise<V> | undefined = undefined;

  constructor(
    readonly value: V,
    readonly freshUntil: number,
    readonly staleUntil: number,
    /** A hit at or after this time starts one background refresh (refresh-ahead). */
    readonly refreshAt: number,
    readonly tags: readonly string[],
  ) {}
}
