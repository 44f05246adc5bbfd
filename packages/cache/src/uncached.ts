/**
 * A loader's answer that is returned to its callers but not stored: a default, a partial result, a
 * fallback. Create it with {@link uncached}.
 */
export class Uncached<T> {
  /** @internal use `uncached(value)` */
  constructor(readonly value: T) {}
}

/**
 * Wraps a loader's result so the callers get `value` but the cache does not store it: the next call
 * runs the loader again.
 *
 * @example
 * const price = await scope.getOrSet('price:42', async () => {
 *   const quote = await fetchQuote(42).catch(() => undefined);
 *   return quote ?? uncached(DEFAULT_PRICE); // answer now, ask again next time
 * });
 */
export function uncached<T>(value: T): Uncached<T> {
  return new Uncached(value);
}
