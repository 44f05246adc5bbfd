import type { CachedFunction } from './cached';
import { compileTemplate } from './keys/keyTemplate';
import { describe } from './options/duration';

/** Names keys or tags: templates filled from the call's arguments, or a function of arguments and result. */
export type KeySelector<A extends unknown[], R> = readonly string[] | ((args: A, result: R) => readonly string[]);

/** One reader to call again after an invalidation, so the next read is a hit. See {@link recache}. */
export interface Recache<A extends unknown[], R> {
  /** The cached reader to refresh. */
  readonly reader: CachedFunction<never, unknown>;
  /** The reader's arguments, from the writer's arguments and result. */
  readonly args: (writeArgs: A, result: R) => unknown[];
}

/** How {@link recache} builds the reader's single object argument from the writer's object argument. */
export interface RecacheMapping {
  /** Fields copied from the writer's object argument. Omitted: all of them. */
  include?: readonly string[];
  /** Renames fields on the way: `{ userId: 'id' }` passes the writer's `userId` as the reader's `id`. */
  rename?: Readonly<Record<string, string>>;
  /** Fields added as they are. */
  extra?: Readonly<Record<string, unknown>>;
}

/** Options of `cache.invalidating(fn, options)`. */
export interface InvalidatingOptions<A extends unknown[], R> {
  /** Tags to invalidate after a successful call. @example { tags: ['user:{userId}'] } */
  tags?: KeySelector<A, R>;
  /** Full keys to delete after a successful call. @example { keys: (args, product) => [`products:${product.id}`] } */
  keys?: KeySelector<A, R>;
  /** Readers to refresh after the invalidation; their failures are reported as events, never thrown. */
  recache?: ReadonlyArray<Recache<A, R>>;
  /**
   * How many readers are refreshed at once.
   * @default 4
   */
  recacheConcurrency?: number;
}

/** A function wrapped by `cache.invalidating()`: same parameters and result. */
export type InvalidatingFunction<A extends unknown[], R> = (...args: A) => Promise<R>;

/** What `invalidating()` needs from its cache. @internal */
export interface InvalidationTarget {
  delete(key: string): Promise<boolean>;
  invalidateTags(tags: readonly string[]): Promise<number>;
}

/**
 * Describes a reader to refresh after a write. Either map the writer's object argument to the reader's
 * (`include` / `rename` / `extra`), or give the reader's arguments as a function.
 *
 * @example
 * const updateUser = cache.invalidating(saveUser, {
 *   tags: ['user:{userId}'],
 *   recache: [recache(getUser, { include: ['userId'] })],
 * });
 */
export function recache<RA extends unknown[], A extends unknown[] = unknown[], R = unknown>(
  reader: CachedFunction<RA, unknown>,
  mapping: RecacheMapping | ((writeArgs: A, result: R) => RA) = {},
): Recache<A, R> {
  if (typeof reader !== 'function' || typeof (reader as { refresh?: unknown }).refresh !== 'function') {
    throw new TypeError('`recache` takes a function made by `cache.cached()`');
  }
  const target = reader as unknown as CachedFunction<never, unknown>;
  if (typeof mapping === 'function') return { reader: target, args: mapping as (a: A, r: R) => unknown[] };
  const { include, rename = {}, extra = {} } = mapping;
  return {
    reader: target,
    args: (writeArgs) => {
      const source = writeArgs.find((a) => typeof a === 'object' && a !== null && !Array.isArray(a)) as
        | Record<string, unknown>
        | undefined;
      if (source === undefined) {
        throw new TypeError('`recache` with include / rename / extra needs the writer to take an object argument');
      }
      const picked: Record<string, unknown> = {};
      for (const field of include ?? Object.keys(source)) {
        if (!(field in source)) throw new TypeError(`\`recache\` includes \`${field}\`, which the writer's argument lacks`);
        picked[rename[field] ?? field] = source[field];
      }
      return [{ ...picked, ...extra }];
    },
  };
}

/** @internal the implementation of `cache.invalidating()` */
export function createInvalidating<A extends unknown[], R>(
  fn: (...args: A) => R | PromiseLike<R>,
  options: InvalidatingOptions<A, Awaited<R>>,
  target: InvalidationTarget,
): InvalidatingFunction<A, Awaited<R>> {
  if (typeof fn !== 'function') throw new TypeError(`\`invalidating\` wraps a function, got ${describe(fn)}`);
  const { tags, keys, recache: readers = [], recacheConcurrency = 4 } = options;
  if (!Number.isInteger(recacheConcurrency) || recacheConcurrency < 1) {
    throw new RangeError(`\`recacheConcurrency\` must be a positive integer, got ${describe(recacheConcurrency)}`);
  }
  if (!Array.isArray(readers)) throw new TypeError(`\`recache\` must be an array, got ${describe(readers)}`);
  const tagsOf = selector(tags, 'tags');
  const keysOf = selector(keys, 'keys');

  return async function (this: unknown, ...args: A): Promise<Awaited<R>> {
    const result = await fn.apply(this, args);
    await Promise.all(keysOf(args, result).map((key) => target.delete(key)));
    const dropTags = tagsOf(args, result);
    if (dropTags.length > 0) await target.invalidateTags(dropTags);
    await refreshAll(readers, args, result, recacheConcurrency);
    return result;
  };
}

function selector<A extends unknown[], R>(value: KeySelector<A, R> | undefined, option: string) {
  if (value === undefined) return () => [] as readonly string[];
  if (typeof value === 'function') {
    return (args: A, result: R) => {
      const made: unknown = value(args, result);
      if (!Array.isArray(made) || made.some((k) => typeof k !== 'string')) {
        throw new TypeError(`the \`${option}\` function must return an array of strings, got ${describe(made)}`);
      }
      return made as readonly string[];
    };
  }
  if (!Array.isArray(value)) throw new TypeError(`\`${option}\` must be an array of templates or a function`);
  const fills = value.map((t) => compileTemplate(t, `${option} template`));
  return (args: A) => fills.map((fill) => fill(args));
}

/** Refreshes readers, at most `concurrency` at a time. Failures are the readers' load-error events. */
async function refreshAll<A extends unknown[], R>(
  readers: ReadonlyArray<Recache<A, R>>,
  args: A,
  result: R,
  concurrency: number,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < readers.length) {
      const item = readers[next++] as Recache<A, R>;
      // A mapping that cannot build the reader's arguments is a bug in the caller's code: it throws.
      const readerArgs = item.args(args, result);
      try {
        await (item.reader.refresh as (...a: unknown[]) => Promise<unknown>)(...readerArgs);
      } catch {
        // The write succeeded; a failed re-read only means the next read misses. The reader's scope has
        // already emitted CACHE_LOAD_ERROR for it.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, readers.length) }, worker));
}
