import type { CacheScope, TagsOf } from './CacheScope';
import type { Uncached } from './uncached';
import { deriveKey } from './keys/deriveKey';
import { CACHED_OPTIONS, checkOptionKeys } from './options/optionKeys';
import { escapeKeyPart } from './keys/escapeKeyPart';
import { compileTemplate, isTemplate } from './keys/keyTemplate';
import type { ScopeOptions } from './options/CacheOptions';
import { describe } from './options/duration';
import { isSlotInteger } from './stores/lruSlot';
import { resolvePolicy } from './options/resolveOptions';
import type { Policy } from './options/resolveOptions';

/** Options of `cache.cached(fn, options)`: the scope's options, plus how keys and tags are made. */
export interface CachedOptions<A extends unknown[] = unknown[], R = unknown> extends Omit<ScopeOptions<R>, 'tags'> {
  /**
   * The local key of a call (the full key puts the scope's namespace, by default its name, and `:` before
   * it). Omitted: derived from the arguments (faithful to their types, stable across object key order).
   * A template such as `'user:{userId}'` is filled from the call's object argument (or `'{0}'`
   * positionally), each value written with `escapeKeyPart`; a function receives the arguments.
   * @example { key: 'user:{userId}' } // getUser({ userId: 1 }) → getUser:user:1
   * @example { key: (id: number, lang: string) => `product:${id}:${lang}` }
   */
  key?: string | ((...args: A) => string);
  /**
   * How many leading arguments are left out of derived keys (a context, a connection, a logger).
   * @default 0
   */
  skipArgs?: number;
  /**
   * Tags of every value stored by this function: templates filled like `key`, or a function of the
   * arguments. With a string `key` and no `tags`, each entry is tagged with its local key (the filled
   * template), so `invalidateTags(['user:1'])` drops what `key: 'user:{userId}'` stored for user 1.
   * @example { key: 'user:{userId}:profile', tags: ['user:{userId}'] }
   */
  tags?: readonly string[] | ((...args: A) => readonly string[]);
  /**
   * The name of the function's own scope (made unique in the cache), and so the namespace of its keys
   * unless `keyPrefix` is given; with a shared `scope`, the namespace of this function's derived keys
   * inside it (`name:derivedKey`, the name written with `escapeKeyPart`).
   * @default fn.name
   */
  name?: string;
  /**
   * Share an existing scope (its LRU, stats and options) instead of creating one. Load options given
   * here still apply to this function's calls.
   */
  scope?: CacheScope<R>;
}

/** A function wrapped by `cache.cached()`: same parameters, a promise of the same result. */
export interface CachedFunction<A extends unknown[], R> {
  (...args: A): Promise<R>;
  /** The scope holding this function's entries: its stats, `clear()`, `keys()`, events. */
  readonly scope: CacheScope<R>;
  /** The full key a call with these arguments uses. */
  keyFor(...args: A): string;
  /** Runs the function even when a fresh value is cached (force refresh), stores and returns its result. */
  refresh(...args: A): Promise<R>;
  /** Removes the entry a call with these arguments uses. Resolves to whether there was one. */
  invalidate(...args: A): Promise<boolean>;
}

/** Creates the scope of a cached function. @internal */
export type ScopeFactory = <R>(name: string, options: ScopeOptions<R>) => CacheScope<R>;

/** @internal the implementation of `cache.cached()` */
export function createCached<A extends unknown[], R>(
  fn: (...args: A) => R | Uncached<R> | PromiseLike<R | Uncached<R>>,
  options: CachedOptions<A, R>,
  newScope: ScopeFactory,
): CachedFunction<A, R> {
  if (typeof fn !== 'function') throw new TypeError(`\`cached\` wraps a function, got ${describe(fn)}`);
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`the options of \`cached\` must be an object, got ${describe(options)}`);
  }
  checkOptionKeys(options, CACHED_OPTIONS, 'cached()');
  const { key, skipArgs = 0, tags, name, scope: shared, ...scopeOptions } = options;
  const fnName = name ?? (fn.name || 'anonymous function');
  checkStaticTags(tags);
  if (!Number.isInteger(skipArgs) || skipArgs < 0) {
    throw new RangeError(`\`skipArgs\` must be a non-negative integer, got ${describe(skipArgs)}`);
  }

  let scope: CacheScope<R>;
  let policy: Policy;
  if (shared !== undefined) {
    for (const option of ['maxSize', 'keyPrefix', 'onEvent', 'isolation'] as const) {
      if (scopeOptions[option] !== undefined) {
        throw new TypeError(`\`${option}\` belongs to the shared scope \`${shared.name}\`: set it where the scope is created`);
      }
    }
    scope = shared;
    policy = resolvePolicy(shared.policy, scopeOptions);
  } else {
    // Every scope's keys live under its namespace (by default its name): `getUser:#42`.
    scope = newScope<R>(name ?? (fn.name || 'cached'), scopeOptions);
    policy = scope.policy;
  }

  // In a shared scope, derived keys (`#42`) of different functions would collide: each function's
  // derived keys live under its name there, and two functions may not share a name in one scope.
  let keyOf = localKeyOf(key, skipArgs, fnName);
  if (shared !== undefined && key === undefined) {
    const owner = name ?? fn.name;
    if (!owner) {
      throw new TypeError('a function sharing a scope with keys derived from its arguments needs a `name` (or a `key`)');
    }
    claimName(shared, owner);
    const derive = keyOf;
    const head = `${escapeKeyPart(owner)}:`;
    keyOf = (args) => head + derive(args);
  }
  const tagsOf = tagsOfCall(tags, key);
  const invoke = (thisArg: unknown, args: A) => fn.apply(thisArg, args);

  const call = function (this: unknown, ...args: A): Promise<R> {
    let local: string;
    try {
      local = keyOf(args);
    } catch (error) {
      return Promise.reject(error);
    }
    return scope.read(local, policy, false, invoke, this, args, tagsOf);
  };
  let wrapped = call as CachedFunction<A, R>;
  if (key === undefined && skipArgs === 0 && shared === undefined) {
    // Keyed by its arguments in a scope of its own, and called with one integer (an id: the common case),
    // the function's entry is held in L1 under the integer itself (see LruSlot): a hit makes neither the
    // key string nor an array of the arguments. Other calls go to `call`, their arguments forwarded by
    // `apply(this, arguments)`, which copies nothing.
    const one = fn as unknown as (this: unknown, id: number) => ReturnType<typeof fn>;
    const invokeOne = (thisArg: unknown, id: number) => one.call(thisArg, id);
    const tagsOfOne: TagsOf<number> = tagsOf === null ? null : (id) => tagsOf([id] as unknown as A);
    /* eslint-disable prefer-rest-params -- reading `arguments` (and forwarding it through apply) allocates no array */
    wrapped = function (this: unknown): Promise<R> {
      if (arguments.length === 1) {
        const id: unknown = arguments[0];
        if (typeof id === 'number' && isSlotInteger(id)) return scope.read(id, policy, false, invokeOne, this, id, tagsOfOne);
      }
      return call.apply(this, arguments as unknown as A);
    } as CachedFunction<A, R>;
    /* eslint-enable prefer-rest-params */
  }

  Object.defineProperties(wrapped, {
    name: { value: fn.name },
    length: { value: fn.length },
    scope: { value: scope, enumerable: true },
    keyFor: { value: (...args: A) => scope.fullKey(keyOf(args)) },
    refresh: {
      value: function (this: unknown, ...args: A): Promise<R> {
        try {
          return scope.read(keyOf(args), policy, true, invoke, this, args, tagsOf);
        } catch (error) {
          return Promise.reject(error);
        }
      },
    },
    invalidate: {
      value: (...args: A): Promise<boolean> => {
        try {
          return scope.remove(keyOf(args));
        } catch (error) {
          return Promise.reject(error);
        }
      },
    },
  });
  return wrapped;
}

const derivedKeyOwners = new WeakMap<object, Set<string>>();

function claimName(scope: { readonly name: string }, owner: string): void {
  let owners = derivedKeyOwners.get(scope);
  if (owners === undefined) derivedKeyOwners.set(scope, (owners = new Set()));
  if (owners.has(owner)) {
    throw new TypeError(
      `a function named \`${owner}\` already caches in scope \`${scope.name}\` with derived keys: give this one a distinct \`name\``,
    );
  }
  owners.add(owner);
}

function localKeyOf<A extends unknown[]>(
  key: CachedOptions<A>['key'],
  skipArgs: number,
  fnName: string,
): (args: A) => string {
  if (key === undefined) return (args) => deriveKey(args, skipArgs, fnName);
  if (typeof key === 'string') {
    const fill = compileTemplate(key, `key template of ${fnName}`);
    return (args) => fill(args);
  }
  if (typeof key === 'function') {
    return (args) => {
      const made: unknown = key(...args);
      if (typeof made !== 'string' || made === '') {
        throw new TypeError(`the \`key\` function of ${fnName} must return a non-empty string, got ${describe(made)}`);
      }
      return made;
    };
  }
  throw new TypeError(`\`key\` must be a template string or a function of the arguments, got ${describe(key)}`);
}

/** Refuses, before any scope is made, a tag list that holds what no `invalidateTags()` call can name. */
function checkStaticTags(tags: unknown): void {
  if (!Array.isArray(tags)) return; // a function, or a wrong type that tagsOfCall reports
  const bad = tags.findIndex((t: unknown) => typeof t !== 'string' || t === '');
  if (bad !== -1) {
    throw new TypeError(`\`tags\` must hold non-empty strings (tags or templates such as 'user:{id}'), got ${describe(tags[bad])}`);
  }
}

function tagsOfCall<A extends unknown[]>(tags: CachedOptions<A>['tags'], key: CachedOptions<A>['key']): TagsOf<A> {
  if (tags === undefined) {
    if (typeof key !== 'string') return null;
    // The entry's own local key: what `invalidateTags(['user:1'])` names for `key: 'user:{userId}'`.
    const fill = compileTemplate(key);
    return (args) => [fill(args)];
  }
  if (typeof tags === 'function') {
    return (args) => {
      const made: unknown = tags(...args);
      if (!Array.isArray(made) || made.some((t) => typeof t !== 'string' || t === '')) {
        throw new TypeError(`the \`tags\` function must return an array of non-empty strings, got ${describe(made)}`);
      }
      return made as string[];
    };
  }
  if (!Array.isArray(tags)) {
    throw new TypeError(`\`tags\` must be an array of tag templates or a function, got ${describe(tags)}`);
  }
  const fills = tags.map((t) => (isTemplate(t) ? compileTemplate(t, 'tag template') : () => t));
  return (args) => fills.map((fill) => fill(args));
}
