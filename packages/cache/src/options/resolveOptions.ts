import { describe, timerMs, toMs, ttlToMs } from './duration';
import type { Ttl } from './duration';
import type { LoadOptions, ScopeOptions } from './CacheOptions';

/**
 * Options after defaults and inheritance, durations in milliseconds (`Infinity` = never / off).
 * Resolved once per scope, and again only for calls that pass overrides.
 * @internal
 */
export interface Policy {
  readonly ttl: number | ((value: unknown) => Ttl);
  readonly failSafe: number;
  readonly failSafeThrottle: number;
  readonly softTimeout: number;
  readonly hardTimeout: number;
  readonly jitter: number;
  /** 0 when off. */
  readonly refreshAhead: number;
  readonly cacheNullish: boolean;
  readonly shouldCache: ((value: unknown) => boolean) | null;
  readonly tags: readonly string[];
  readonly distributedLock: boolean;
  readonly lockTimeout: number;
  readonly lockWaitTimeout: number;
}

/** The library defaults: the first layer of library → cache → scope → call. */
export const DEFAULT_POLICY: Policy = Object.freeze({
  ttl: 5 * 60_000,
  failSafe: 0,
  failSafeThrottle: 30_000,
  softTimeout: Number.POSITIVE_INFINITY,
  hardTimeout: Number.POSITIVE_INFINITY,
  jitter: 0,
  refreshAhead: 0,
  cacheNullish: true,
  shouldCache: null,
  tags: Object.freeze([]) as readonly string[],
  distributedLock: false,
  lockTimeout: 10_000,
  lockWaitTimeout: 30_000,
});

export const DEFAULT_MAX_SIZE = 1000;

/**
 * Layers `over` on top of `base`: supplied values replace, omitted (or `undefined`) values inherit.
 * Every supplied value is validated here, so misuse fails where the options are given.
 */
export function resolvePolicy(base: Policy, over: LoadOptions<never> | LoadOptions | undefined): Policy {
  if (over === undefined) return base;
  if (over === null || typeof over !== 'object') {
    throw new TypeError(`cache options must be an object, got ${describe(over)}`);
  }
  const o = over as LoadOptions;
  const policy: Policy = {
    ttl: o.ttl === undefined ? base.ttl : typeof o.ttl === 'function' ? o.ttl : ttlToMs(o.ttl, 'ttl'),
    failSafe: o.failSafe === undefined ? base.failSafe : toMs(o.failSafe, 'failSafe'),
    failSafeThrottle:
      o.failSafeThrottle === undefined ? base.failSafeThrottle : toMs(o.failSafeThrottle, 'failSafeThrottle'),
    softTimeout: o.softTimeout === undefined ? base.softTimeout : optionalMs(o.softTimeout, 'softTimeout'),
    hardTimeout: o.hardTimeout === undefined ? base.hardTimeout : optionalMs(o.hardTimeout, 'hardTimeout'),
    jitter: o.jitter === undefined ? base.jitter : finite(toMs(o.jitter, 'jitter'), 'jitter'),
    refreshAhead: o.refreshAhead === undefined ? base.refreshAhead : fraction(o.refreshAhead),
    cacheNullish: o.cacheNullish === undefined ? base.cacheNullish : bool(o.cacheNullish, 'cacheNullish'),
    shouldCache: o.shouldCache === undefined ? base.shouldCache : predicate(o.shouldCache),
    // Tags accumulate across layers: an entry carries the cache's, its scope's and its own.
    tags: o.tags === undefined ? base.tags : unionTags(base.tags, tagList(o.tags)),
    distributedLock: o.distributedLock === undefined ? base.distributedLock : bool(o.distributedLock, 'distributedLock'),
    lockTimeout: o.lockTimeout === undefined ? base.lockTimeout : positive(toMs(o.lockTimeout, 'lockTimeout'), 'lockTimeout'),
    lockWaitTimeout: o.lockWaitTimeout === undefined ? base.lockWaitTimeout : waitBound(o.lockWaitTimeout),
  };
  if (policy.softTimeout !== Number.POSITIVE_INFINITY && policy.softTimeout >= policy.hardTimeout) {
    throw new RangeError(
      `\`softTimeout\` (${policy.softTimeout} ms) must be shorter than \`hardTimeout\` (${policy.hardTimeout} ms)`,
    );
  }
  if (typeof policy.ttl === 'number' && policy.ttl !== Number.POSITIVE_INFINITY && policy.jitter > policy.ttl) {
    throw new RangeError(
      `\`jitter\` (${policy.jitter} ms) must not exceed \`ttl\` (${policy.ttl} ms): it spreads expiries by up to that much; lower it or raise the ttl`,
    );
  }
  return policy;
}

/** Validates a scope's `maxSize`: a positive integer, or `Infinity`. */
export function resolveMaxSize(value: ScopeOptions['maxSize'], inherited: number): number {
  if (value === undefined) return inherited;
  if (value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`\`maxSize\` must be a positive integer or Infinity, got ${describe(value)}`);
  }
  return value;
}

/** A scope's namespace: its `keyPrefix` (a non-empty string), else its name. */
export function resolveKeyPrefix(value: unknown, scopeName: string): string {
  if (value === undefined) return scopeName;
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`\`keyPrefix\` must be a non-empty string (omit it to use the scope's name), got ${describe(value)}`);
  }
  return value;
}

/**
 * The TTL of one write in ms (`Infinity` = never expires), evaluating a dynamic TTL against the value.
 */
export function ttlFor(policy: Policy, value: unknown): number {
  if (typeof policy.ttl === 'number') return policy.ttl;
  return ttlToMs(policy.ttl(value), 'ttl (returned by the ttl function)');
}

function optionalMs(value: LoadOptions['softTimeout'], option: string): number {
  if (value === null || value === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  const parsed = timerMs(value as NonNullable<typeof value>, option);
  if (parsed === 0) throw new RangeError(`\`${option}\` must be greater than 0, or null for none`);
  return parsed;
}

function fraction(value: number | null): number {
  if (value === null || value === 0) return 0;
  if (typeof value !== 'number' || !(value > 0 && value < 1)) {
    throw new RangeError(`\`refreshAhead\` must be a fraction of the TTL between 0 and 1 (e.g. 0.8), got ${describe(value)}`);
  }
  return value;
}

function finite(ms: number, option: string): number {
  if (ms === Number.POSITIVE_INFINITY) throw new RangeError(`\`${option}\` must be a finite duration, got Infinity`);
  return ms;
}

function positive(ms: number, option: string): number {
  if (ms === 0 || ms === Number.POSITIVE_INFINITY) throw new RangeError(`\`${option}\` must be a finite duration greater than 0`);
  return ms;
}

/** `lockWaitTimeout`: a finite duration greater than 0 (a wait without bound could hang a caller forever). */
function waitBound(value: unknown): number {
  let parsed = Number.NaN;
  try {
    parsed = toMs(value as number | string, 'lockWaitTimeout');
  } catch {
    // Not a duration at all: the TypeError below says what is expected.
  }
  if (!(parsed > 0) || parsed === Number.POSITIVE_INFINITY) {
    throw new TypeError(`\`lockWaitTimeout\` must be a finite duration greater than 0 (ms or a string such as '30s'), got ${describe(value)}`);
  }
  return parsed;
}

function bool(value: unknown, option: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`\`${option}\` must be a boolean, got ${describe(value)}`);
  return value;
}

function predicate(value: unknown): ((value: unknown) => boolean) | null {
  if (value === null) return null;
  if (typeof value !== 'function') {
    throw new TypeError(`\`shouldCache\` must be a function (result) => boolean, got ${describe(value)}`);
  }
  return value as (value: unknown) => boolean;
}

/** Validates a list of tags; an empty list is shared, not allocated. */
export function tagList(value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.some((t) => typeof t !== 'string' || t === '')) {
    throw new TypeError(`\`tags\` must be an array of non-empty strings, got ${describe(value)}`);
  }
  return value.length === 0 ? DEFAULT_POLICY.tags : Object.freeze([...value]);
}

function unionTags(base: readonly string[], more: readonly string[]): readonly string[] {
  if (base.length === 0) return more;
  if (more.length === 0) return base;
  return Object.freeze([...new Set([...base, ...more])]);
}
