import type { CacheScope } from './CacheScope';
import { BatchLoadError } from './errors/BatchLoadError';
import type { LoadOptions } from './options/CacheOptions';
import { describe, toMs } from './options/duration';
import type { Duration } from './options/duration';
import { resolvePolicy } from './options/resolveOptions';
import type { Policy } from './options/resolveOptions';

/**
 * Loads many keys in one call. Return either an array aligned with `keys` (an `Error` in a slot fails
 * that key only), or a `Map` / plain object from key to value. A key absent from a map or object
 * fails with a `BatchLoadError`: set it to `undefined` (or `null`) explicitly to say "not found".
 */
export type BatchLoadFn<V> = (
  keys: string[],
) => PromiseLike<ReadonlyArray<V | Error> | ReadonlyMap<string, V> | Readonly<Record<string, V>>>;

/** Options of a {@link BatchLoader}: when a batch is sent, plus the scope's options for what it stores. */
export interface BatchLoaderOptions<V = unknown> extends LoadOptions<V> {
  /**
   * How long the first key of a batch waits for others before the batch is sent.
   * @default 5
   */
  windowMs?: Duration;
  /**
   * A batch is sent as soon as it holds this many keys.
   * @default 100
   */
  maxBatchSize?: number;
}

/** A key waiting for its batch. Typed `unknown` so that V appears only in method signatures (variance). */
interface Pending {
  key: string;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const enqueue = <V>(loader: BatchLoader<V>, key: string): Promise<V> => loader.enqueue(key);

/**
 * DataLoader-style batching over a scope (see `scope.batchLoader()`): fresh keys are answered from the
 * cache, keys already loading join that load, and the rest are coalesced into one `batchFn` call per
 * window. Results are stored in the scope, so fail-safe, timeouts and stats apply as for any load.
 */
export class BatchLoader<V> {
  readonly #scope: CacheScope<V>;
  readonly #batchFn: BatchLoadFn<V>;
  readonly #policy: Policy;
  readonly #windowMs: number;
  readonly #maxBatchSize: number;
  #batch: Pending[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** @internal use `scope.batchLoader()` */
  constructor(scope: CacheScope<V>, batchFn: BatchLoadFn<V>, options: BatchLoaderOptions<V> = {}) {
    if (typeof batchFn !== 'function') {
      throw new TypeError(`a batch loader must be a function (keys) => values, got ${describe(batchFn)}`);
    }
    const { windowMs = 5, maxBatchSize = 100, ...load } = options;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
      throw new RangeError(`\`maxBatchSize\` must be a positive integer, got ${describe(maxBatchSize)}`);
    }
    this.#scope = scope;
    this.#batchFn = batchFn;
    this.#policy = resolvePolicy(scope.policy, load);
    this.#windowMs = toMs(windowMs, 'windowMs');
    this.#maxBatchSize = maxBatchSize;
  }

  /** The value of one key: from the cache when fresh, else from the next batch. */
  load(key: string): Promise<V> {
    if (typeof key !== 'string') {
      return Promise.reject(new TypeError(`a batch key must be a string, got ${describe(key)}`));
    }
    return this.#scope.read(key, this.#policy, false, enqueue, this as BatchLoader<V>, key, null);
  }

  /** The values of several keys, in order; rejects with the first failure. */
  loadMany(keys: readonly string[]): Promise<V[]> {
    if (!Array.isArray(keys)) {
      return Promise.reject(new TypeError(`\`loadMany\` takes an array of keys, got ${describe(keys)}`));
    }
    return Promise.all(keys.map((key) => this.load(key)));
  }

  /** @internal adds a missed key to the current batch */
  enqueue(key: string): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.#batch.push({ key, resolve: resolve as (value: unknown) => void, reject });
      if (this.#batch.length >= this.#maxBatchSize) this.#dispatch();
      else if (this.#timer === undefined) this.#timer = setTimeout(() => this.#dispatch(), this.#windowMs);
    });
  }

  #dispatch(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#batch;
    this.#batch = [];
    if (batch.length === 0) return;
    const keys = batch.map((p) => p.key);
    let result: ReturnType<BatchLoadFn<V>>;
    try {
      result = this.#batchFn(keys);
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    Promise.resolve(result).then(
      (values) => this.#settle(batch, values),
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
  }

  #settle(batch: Pending[], values: Awaited<ReturnType<BatchLoadFn<V>>>): void {
    const scope = this.#scope.name;
    if (Array.isArray(values)) {
      if (values.length !== batch.length) {
        const error = new BatchLoadError(
          `the batch loader of scope \`${scope}\` returned ${values.length} values for ${batch.length} keys: ` +
            'return one value (or Error) per key, in the order of the keys',
          { scope },
        );
        for (const p of batch) p.reject(error);
        return;
      }
      batch.forEach((p, i) => {
        const value = values[i] as V | Error;
        if (value instanceof Error) p.reject(value);
        else p.resolve(value);
      });
      return;
    }
    if (values instanceof Map) {
      for (const p of batch) {
        if (values.has(p.key)) p.resolve(values.get(p.key) as V);
        else p.reject(missing(scope, p.key));
      }
      return;
    }
    if (typeof values === 'object' && values !== null) {
      const record = values as Readonly<Record<string, V>>;
      for (const p of batch) {
        if (Object.prototype.hasOwnProperty.call(record, p.key)) p.resolve(record[p.key] as V);
        else p.reject(missing(scope, p.key));
      }
      return;
    }
    const error = new BatchLoadError(
      `the batch loader of scope \`${scope}\` must resolve to an array, a Map or an object, got ${describe(values)}`,
      { scope },
    );
    for (const p of batch) p.reject(error);
  }
}

function missing(scope: string, key: string): BatchLoadError {
  return new BatchLoadError(
    `the batch loader of scope \`${scope}\` returned no value for \`${key}\`: set it to undefined or null to say it does not exist`,
    { scope, key },
  );
}
