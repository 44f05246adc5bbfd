import type { CachedOptions } from '../cached';
import type { CacheOptions, EntryOptions, GetOrSetOptions, LoadOptions, ScopeOptions } from './CacheOptions';

/**
 * The names of every options object, kept beside their interfaces: a `Record<keyof …, true>` does not
 * compile when the interface gains or loses a name, so these lists cannot drift from the types.
 */
/** The options of one write: `set`, `setMany`, `setIfAbsent`, `incr`. @internal */
export const ENTRY_OPTIONS: Record<keyof EntryOptions, true> = { ttl: true, failSafe: true, jitter: true, tags: true };

/** The options of one load: `warmup`, and the base of the others. @internal */
export const LOAD_OPTIONS: Record<keyof LoadOptions, true> = {
  ...ENTRY_OPTIONS,
  failSafeThrottle: true,
  softTimeout: true,
  hardTimeout: true,
  refreshAhead: true,
  cacheNullish: true,
  shouldCache: true,
  distributedLock: true,
  lockTimeout: true,
  lockWaitTimeout: true,
};

/** The options of `scope.getOrSet(key, loader, options)`. @internal */
export const GET_OR_SET_OPTIONS: Record<keyof GetOrSetOptions, true> = { ...LOAD_OPTIONS, signal: true };

/** The options of `cache.scope(name, options)`. @internal */
export const SCOPE_OPTIONS: Record<keyof ScopeOptions, true> = {
  ...LOAD_OPTIONS,
  maxSize: true,
  keyPrefix: true,
  isolation: true,
  onEvent: true,
};

/** The options of `cache.cached(fn, options)` (and of `resilient({ cache })`). @internal */
export const CACHED_OPTIONS: Record<keyof CachedOptions, true> = {
  ...SCOPE_OPTIONS,
  key: true,
  skipArgs: true,
  name: true,
  scope: true,
};

/** The options of `new Cache(options)`. @internal */
export const CACHE_OPTIONS: Record<keyof CacheOptions, true> = {
  ...LOAD_OPTIONS,
  maxSize: true,
  isolation: true,
  prefix: true,
  version: true,
  onEvent: true,
  onListenerError: true,
  clock: true,
  store: true,
  backplane: true,
  lock: true,
  atomicFallback: true,
  autoRecovery: true,
};

/**
 * Refuses a name that is not an option (`tll`, `maxAttempt`), which TypeScript catches but plain
 * JavaScript, or an object built at run time, would silently ignore. The message names the option by its
 * full path and the closest valid name.
 *
 * @param options the options object (own enumerable names are checked)
 * @param known the valid names
 * @param owner what takes the options, for the message: `Cache`, `resilient()`
 * @param path the object's path in the owner's options, with its dot: `''`, `'retry.'`
 * @throws TypeError naming the first unknown option
 * @internal
 */
export function checkOptionKeys(options: object, known: Readonly<Record<string, true>>, owner: string, path = ''): void {
  for (const name of Object.keys(options)) {
    if (Object.prototype.hasOwnProperty.call(known, name)) continue;
    const closest = closestName(name, Object.keys(known));
    const hint = closest === undefined ? `use one of ${Object.keys(known).join(', ')}` : `did you mean \`${path}${closest}\`?`;
    throw new TypeError(`unknown ${owner} option \`${path}${name}\`: ${hint}`);
  }
}

/**
 * The valid name closest to `name` by edit distance (case ignored), if it is close enough to be a typo:
 * at most a third of the name's length apart (and at least 1, at most 3 edits). @internal
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const wanted = name.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(wanted.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edit distance where swapping two neighbouring letters (`retyr`) is one edit, as are insert, delete, replace. */
function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, (before[j - 2] as number) + 1);
      row.push(best);
    }
    before = previous;
    previous = row;
  }
  return previous[b.length] as number;
}
