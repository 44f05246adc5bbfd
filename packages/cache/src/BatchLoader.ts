import type { CacheScope } from './CacheScope';
import { BatchLoadError } from './errors/BatchLoadError';
import type { LoadOptions } from './options/CacheOptions';
import { deriveKey } from './keys/deriveKey';
import { describe, toMs } from './options/duration';
import type { Duration } from './options/duration';
import { LOAD_OPTIONS, checkOptionKeys } from './options/optionKeys';
import { resolvePolicy } from './options/resolveOptions';
import type { Policy } from './options/resolveOptions';

/**
 * Loads many keys in one call, given as the callers passed them (`load(1)` hands it `1`). Return either
 * an array aligned with `keys` (an `Error` in a slot fails that key only), or a `Map` from those keys to
 * values, or a plain object keyed by `String(key)` (string and number keys). A key absent from a map or
 * object fails with a `BatchLoadError`: set it to `undefined` (or `null`) explicitly to say "not found".
 */
export type BatchLoadFn<V, K = string> = (
  keys: K[],
) => PromiseLike<ReadonlyArray<V | Error> | ReadonlyMap<K, V> | Readonly<Record<string, V>>>;

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

const BATCH_LOADER_OPTIONS: Record<keyof BatchLoaderOptions, true> = { ...LOAD_OPTIONS, windowMs: true, maxBatchSize: true };

/** A key waiting for its batch. Typed `unknown` so that V appears only in method signatures (variance). */
interface Pending {
  /** The caller's key, handed to the batch function as given. */
  key: unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const enqueue = <V>(loader: BatchLoader<V, unknown>, key: unknown): Promise<V> => loader.enqueue(key);

/**
 * DataLoader-style batching over a scope (see `scope.batchLoader()`): fresh keys are answered from the
 * cache, keys already loading join that load, and the rest are coalesced into one `batchFn` call per
 * window. Results are stored in the scope, so fail-safe, timeouts and stats apply as for any load.
 *
 * Keys are strings by default; other keys (`load(42)`, `load({ org, id })`) are stored under the key a
 * cached function would derive from that one argument (`#42`), and handed to the batch function as given.
 */
export class BatchLoader<V, K = string> {
  readonly #scope: CacheScope<V>;
  readonly #batchFn: BatchLoadFn<V, K>;
  readonly #policy: Policy;
  readonly #windowMs: number;
  readonly #maxBatchSize: number;
  #batch: Pending[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** @internal use `scope.batchLoader()` */
  constructor(scope: CacheScope<V>, batchFn: BatchLoadFn<V, K>, options: BatchLoaderOptions<V> = {}) {
    if (typeof batchFn !== 'function') {
      throw new TypeError(`a batch loader must be a function (keys) => values, got ${describe(batchFn)}`);
    }
    if (options !== null && typeof options === 'object') checkOptionKeys(options, BATCH_LOADER_OPTIONS, 'batchLoader()');
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

  /**
   * The value of one key: from the cache when fresh, else from the next batch. A string key is the
   * entry's local key as is; any other key is derived as a cached function derives one argument
   * (`42` → `#42`; a value no key can hold, such as a function, is refused with a `TypeError`).
   */
  load(key: K): Promise<V> {
    let local: string;
    try {
      local = typeof key === 'string' ? key : deriveKey([key], 0, 'the batch loader');
    } catch (error) {
      return Promise.reject(error);
    }
    if (local === '') return Promise.reject(new TypeError(`a batch key must not be empty, got ${describe(key)}`));
    return this.#scope.read(local, this.#policy, false, enqueue, this as BatchLoader<V, unknown>, key as unknown, null);
  }

  /** The values of several keys, in order; rejects with the first failure. */
  loadMany(keys: readonly K[]): Promise<V[]> {
    if (!Array.isArray(keys)) {
      return Promise.reject(new TypeError(`\`loadMany\` takes an array of keys, got ${describe(keys)}`));
    }
    return Promise.all(keys.map((key) => this.load(key)));
  }

  /** @internal adds a missed key to the current batch */
  enqueue(key: unknown): Promise<V> {
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
    const keys = batch.map((p) => p.key as K);
    let result: ReturnType<BatchLoadFn<V, K>>;
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

  #settle(batch: Pending[], values: Awaited<ReturnType<BatchLoadFn<V, K>>>): void {
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
        if (values.has(p.key as K)) p.resolve(values.get(p.key as K) as V);
        else p.reject(missing(scope, p.key));
      }
      return;
    }
    if (typeof values === 'object' && values !== null) {
      const record = values as Readonly<Record<string, V>>;
      for (const p of batch) {
        const name = typeof p.key === 'string' || typeof p.key === 'number' ? String(p.key) : undefined;
        if (name !== undefined && Object.prototype.hasOwnProperty.call(record, name)) p.resolve(record[name] as V);
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

function missing(scope: string, key: unknown): BatchLoadError {
  const shown = typeof key === 'string' ? key : describe(key);
  const hint =
    typeof key === 'string' || typeof key === 'number'
      ? 'set it to undefined or null to say it does not exist'
      : 'return a Map keyed by the keys given, or an array in their order';
  return new BatchLoadError(`the batch loader of scope \`${scope}\` returned no value for \`${shown}\`: ${hint}`, {
    scope,
    key: shown,
  });
}
