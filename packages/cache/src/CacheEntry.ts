/**
 * One cached value and its timeline (all times in ms since the epoch, `Infinity` = never):
 * fresh until `freshUntil`, then stale (served only by fail-safe) until `staleUntil`, then gone.
 * @internal
 */
export class CacheEntry<V = unknown> {
  /**
   * The promise hits answer with, made on the first hit and shared by the next ones. Measured: a new
   * promise per hit costs a third of a hit once AsyncLocalStorage's promise hooks are on (Node 20), more
   * than the 48 bytes (144 with those hooks) this keeps on each entry that was hit.
   */
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
