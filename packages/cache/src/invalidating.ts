import type { CachedFunction } from './cached';
import { compileTemplate } from './keys/keyTemplate';
import { describe } from './options/duration';

/** Names keys or tags: templates filled from the call's arguments, or a function of arguments and result. */
export type KeySelector<A extends unknown[], R> = readonly string[] | ((args: A, result: R) => readonly string[]);

/** One reader to call again after an invalidation, so the next read is a hit. See {@link recache}. */
export interface Recache<A extends unknown[], R> {
  /** The cached reader to refresh. */
  readonly reader: CachedFunction<never, unknown>;
  /**
   * Prepares the reader's arguments from the writer's arguments, before the write runs (so a mapping
   * that cannot be applied fails before anything is written); the returned function completes them
   * with the write's result.
   */
  readonly prepare: (writeArgs: A) => (result: R) => unknown[];
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
export function recache<RA extends unknown[], A extends unknown[] = unknown[], R = unknown, RR = unknown>(
  reader: CachedFunction<RA, RR>,
  mapping: RecacheMapping | ((writeArgs: A, result: R) => RA) = {},
): Recache<A, R> {
  if (typeof reader !== 'function' || typeof (reader as { refresh?: unknown }).refresh !== 'function') {
    throw new TypeError('`recache` takes a function made by `cache.cached()`');
  }
  const target = reader as unknown as CachedFunction<never, unknown>;
  if (typeof mapping === 'function') {
    return { reader: target, prepare: (writeArgs) => (result) => mapping(writeArgs, result) };
  }
  const { include, rename = {}, extra = {} } = mapping;
  return {
    reader: target,
    prepare: (writeArgs) => {
      const source = writeArgs.find((a) => typeof a === 'object' && a !== null && !Array.isArray(a)) as
        | Record<string, unknown>
        | undefined;
      if (source === undefined) {
        throw new TypeError('`recache` with include / rename / extra needs the writer to take an object argument');
      }
      // Field names come from user data: own properties only, into an object without a prototype.
      const picked = Object.create(null) as Record<string, unknown>;
      for (const field of include ?? Object.keys(source)) {
        if (!Object.hasOwn(source, field)) throw new TypeError(`\`recache\` includes \`${field}\`, which the writer's argument lacks`);
        picked[Object.hasOwn(rename, field) ? (rename[field] as string) : field] = source[field];
      }
      const readerArgs = [{ ...picked, ...extra }];
      return () => readerArgs;
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
    // Everything that reads only the arguments (templates, recache mappings) is prepared first: a call
    // it cannot be prepared from fails before it writes, not after a write whose entries stay stale.
    const keysAfter = keysOf(args);
    const tagsAfter = tagsOf(args);
    const readersAfter = readers.map((item) => ({ reader: item.reader, args: item.prepare(args) }));
    const result = await fn.apply(this, args);
    await Promise.all(keysAfter(result).map((key) => target.delete(key)));
    const dropTags = tagsAfter(result);
    if (dropTags.length > 0) await target.invalidateTags(dropTags);
    await refreshAll(readersAfter, result, recacheConcurrency);
    return result;
  };
}

/** Turns a key or tag selector into: fill from the arguments now, complete with the result later. */
function selector<A extends unknown[], R>(
  value: KeySelector<A, R> | undefined,
  option: string,
): (args: A) => (result: R) => readonly string[] {
  if (value === undefined) return () => () => [];
  if (typeof value === 'function') {
    return (args) => (result) => {
      const made: unknown = value(args, result);
      if (!Array.isArray(made) || made.some((k) => typeof k !== 'string')) {
        throw new TypeError(`the \`${option}\` function must return an array of strings, got ${describe(made)}`);
      }
      return made as readonly string[];
    };
  }
  if (!Array.isArray(value)) throw new TypeError(`\`${option}\` must be an array of templates or a function`);
  const fills = value.map((t) => compileTemplate(t, `${option} template`));
  return (args) => {
    const filled = fills.map((fill) => fill(args));
    return () => filled;
  };
}

/** Refreshes readers, at most `concurrency` at a time. Failures are the readers' load-error events. */
async function refreshAll<R>(
  readers: ReadonlyArray<{ reader: CachedFunction<never, unknown>; args: (result: R) => unknown[] }>,
  result: R,
  concurrency: number,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < readers.length) {
      const item = readers[next++] as (typeof readers)[number];
      // A function that cannot build the reader's arguments from the result is a bug in the caller's
      // code: it throws (the write has happened; the error says why the re-read did not).
      const readerArgs = item.args(result);
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
