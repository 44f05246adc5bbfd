/**
 * One cached value and its timeline (all times in ms since the epoch, `Infinity` = never):
 * fresh until `freshUntil`, then stale (served only by fail-safe) until `staleUntil`, then gone.
 * @internal
 */
export class CacheEntry<V = unknown> {
  constructor(
    readonly value: V,
    readonly freshUntil: number,
    readonly staleUntil: number,
    /** A hit at or after this time starts one background refresh (refresh-ahead). */
    readonly refreshAt: number,
    readonly tags: readonly string[],
  ) {}
}
