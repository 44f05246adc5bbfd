import { DEFAULT_PREFIX, DEFAULT_VERSION, describeValue, toMs } from '@toolkit/cache';
import { parseCacheUrl } from './parseCacheUrl';
import type { CacheBackend } from './parseCacheUrl';

/**
 * The short TTL bucket's default, in milliseconds (30 seconds): rate limits, sessions.
 * `CACHE_TTL_SHORT` overrides it (see {@link ttlBuckets}).
 */
export const TTL_SHORT = 30_000;

/**
 * The default TTL bucket's default, in milliseconds (5 minutes): most data.
 * `CACHE_TTL_DEFAULT` overrides it (see {@link ttlBuckets}).
 */
export const TTL_DEFAULT = 300_000;

/**
 * The long TTL bucket's default, in milliseconds (1 hour): configuration, static content.
 * `CACHE_TTL_LONG` overrides it (see {@link ttlBuckets}).
 */
export const TTL_LONG = 3_600_000;

/** The environment to read: `process.env`, or any plain object of the same shape (tests, `.env` loaders). */
export type CacheEnv = Readonly<Record<string, string | undefined>>;

/** The three TTL buckets, in milliseconds. */
export interface TtlBuckets {
  /** From `CACHE_TTL_SHORT`. @default 30_000 ({@link TTL_SHORT}) */
  short: number;
  /** From `CACHE_TTL_DEFAULT`. @default 300_000 ({@link TTL_DEFAULT}) */
  default: number;
  /** From `CACHE_TTL_LONG`. @default 3_600_000 ({@link TTL_LONG}) */
  long: number;
}

/** The cache's configuration as read from the environment by {@link cacheConfigFromEnv}. */
export interface CacheEnvConfig {
  /**
   * The cache URL, trimmed, from `CACHE_URL`, else `REDIS_URL`, else `'mem://'`. It may hold a
   * password: log `maskCacheUrl(url)`, never `url`.
   * @default 'mem://'
   */
  url: string;
  /** What {@link url} describes, parsed by `parseCacheUrl`. */
  backend: CacheBackend;
  /** Namespace prefix of every cache key, from `CACHE_PREFIX`. @default 'svc' */
  prefix: string;
  /** Version of the namespace, from `CACHE_VERSION`; change it to abandon every old key at once. @default 'v1' */
  version: string;
  /** The TTL buckets, in milliseconds (see {@link ttlBuckets}). */
  ttl: TtlBuckets;
}

const NAME = /^[A-Za-z0-9._-]+$/;

/**
 * Reads the cache's configuration from environment variables, validating every one of them, so a
 * bad value fails at start-up with an error that names its variable.
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `CACHE_URL` | — | backend URL, as accepted by `parseCacheUrl` (`mem://`, `redis://…`, `rediss://…`, a node list for a Cluster) |
 * | `REDIS_URL` | — | read only when `CACHE_URL` is not set |
 * | `CACHE_PREFIX` | `svc` | namespace prefix of every key |
 * | `CACHE_VERSION` | `v1` | namespace version |
 * | `CACHE_TTL_SHORT` / `CACHE_TTL_DEFAULT` / `CACHE_TTL_LONG` | 30 / 300 / 3600 | TTL buckets, see {@link ttlBuckets} |
 *
 * Rules:
 * - A variable that is not set takes its default; one that is set but empty (or only whitespace) is
 *   an error, not a default: `CACHE_URL=` usually comes from a missing substitution, and silently
 *   running on memory instead of Redis would hide it. Surrounding whitespace is ignored everywhere
 *   (a mounted secret often ends with a newline).
 * - `CACHE_URL` wins over `REDIS_URL` whenever it is set, even when it is invalid; with neither set
 *   the cache runs in memory (`mem://`).
 * - `CACHE_PREFIX` and `CACHE_VERSION` may hold only ASCII letters, digits, `.`, `_` and `-`. They
 *   become the first two segments of every Redis key, so characters that mean something to Redis are
 *   refused: `*`, `?`, `[`, `]` and `\` are glob syntax in `SCAN MATCH` (a `deleteByPrefix` could
 *   match another namespace's keys), `{` and `}` are Cluster hash tags (they would pin every key to
 *   one slot), whitespace and control characters break logs and `redis-cli`. `:` is refused too,
 *   although it is the usual Redis separator: with prefix `app:v1` and version `v2` next to prefix
 *   `app` and version `v1`, the namespace `app:v1:*` would contain `app:v1:v2:*`. Use `app-prod`,
 *   `app.prod` or `app_prod` instead of `app:prod`.
 *
 * Reads only the variables above, and only when called: never at import time.
 *
 * @param env the environment to read
 * @returns the validated configuration
 * @throws TypeError or RangeError naming the variable whose value is wrong (see {@link ttlBuckets}
 *   for the TTL rules, `parseCacheUrl` for the URL rules)
 *
 * @example
 * // CACHE_URL=rediss://app:s3cret@cache.internal:6380/1 CACHE_PREFIX=shop CACHE_TTL_SHORT=15s
 * const config = cacheConfigFromEnv();
 * config.backend; // { kind: 'redis', host: 'cache.internal', port: 6380, db: 1, username: 'app', password: 's3cret', tls: true }
 * config.prefix; // 'shop'
 * config.version; // 'v1'
 * config.ttl; // { short: 15_000, default: 300_000, long: 3_600_000 }
 *
 * cacheConfigFromEnv({}); // { url: 'mem://', backend: { kind: 'memory' }, prefix: 'svc', version: 'v1', ttl: { … } }
 */
export function cacheConfigFromEnv(env: CacheEnv = process.env): CacheEnvConfig {
  const source = env.CACHE_URL !== undefined ? 'CACHE_URL' : env.REDIS_URL !== undefined ? 'REDIS_URL' : undefined;
  const raw = source === undefined ? 'mem://' : (env[source] as string);
  const backend = parseCacheUrl(raw, source ?? 'CACHE_URL');
  return {
    url: raw.trim(),
    backend,
    prefix: readName(env, 'CACHE_PREFIX', DEFAULT_PREFIX),
    version: readName(env, 'CACHE_VERSION', DEFAULT_VERSION),
    ttl: ttlBuckets(env),
  };
}

/**
 * Reads the three TTL buckets from `CACHE_TTL_SHORT`, `CACHE_TTL_DEFAULT` and `CACHE_TTL_LONG`, in
 * milliseconds; an unset variable gives {@link TTL_SHORT}, {@link TTL_DEFAULT} or {@link TTL_LONG}.
 *
 * A value is either a number of SECONDS written with digits (`"300"`, `"1.5"`; at most three decimals,
 * so that the result is a whole number of milliseconds), or a duration string with a unit as `toMs`
 * from `@toolkit/cache` reads it (`"250ms"`, `"30s"`, `"5m"`, `"1h"`, `"1d"`). A bare number is never
 * read as milliseconds. The result must be a positive whole number of milliseconds: `0` is refused
 * because `@toolkit/cache` reads a TTL of 0 as "never expires", which is rarely what `0` in an
 * environment variable means. The buckets are not required to be in order (`CACHE_TTL_DEFAULT=10`
 * alone is fine even though the short default is 30 s).
 *
 * @param env the environment to read
 * @returns the buckets in milliseconds
 * @throws TypeError naming the variable when a value is empty or not a number or duration;
 *   RangeError when it is zero, negative, finer than a millisecond or beyond `Number.MAX_SAFE_INTEGER` ms
 *
 * @example
 * ttlBuckets({ CACHE_TTL_SHORT: '15', CACHE_TTL_LONG: '2h' });
 * // { short: 15_000, default: 300_000, long: 7_200_000 }
 */
export function ttlBuckets(env: CacheEnv = process.env): TtlBuckets {
  return {
    short: readTtl(env, 'CACHE_TTL_SHORT', TTL_SHORT),
    default: readTtl(env, 'CACHE_TTL_DEFAULT', TTL_DEFAULT),
    long: readTtl(env, 'CACHE_TTL_LONG', TTL_LONG),
  };
}

function readName(env: CacheEnv, variable: string, fallback: string): string {
  const raw = env[variable];
  if (raw === undefined) return fallback;
  const value = raw.trim();
  if (value === '') {
    throw new TypeError(`\`${variable}\` is empty; unset it for the default '${fallback}', or set a name such as 'myapp'`);
  }
  if (!NAME.test(value)) {
    const bad = [...value].find((char) => !NAME.test(char)) ?? '';
    throw new TypeError(
      `\`${variable}\` may hold only ASCII letters, digits, '.', '_' and '-' (it is part of every Redis key), ` +
        `got ${describeValue(value)}, which contains ${describeValue(bad)}`,
    );
  }
  return value;
}

const SECONDS = /^(\d+)(?:\.(\d+))?$/;
const TTL_FORMS = `a number of seconds such as "300" or a duration such as "30s", "5m" or "1h"`;

function readTtl(env: CacheEnv, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined) return fallback;
  const value = raw.trim();
  if (value === '') throw new TypeError(`\`${variable}\` is empty; unset it for the default, or set ${TTL_FORMS}`);

  let result: number;
  const seconds = SECONDS.exec(value);
  if (seconds !== null) {
    const whole = seconds[1] ?? '0';
    const fraction = seconds[2] ?? '';
    if (fraction.length > 3) {
      throw new RangeError(`\`${variable}\` is finer than a millisecond, got ${describeValue(value)}; use at most 3 decimals`);
    }
    result = Number(whole) * 1000 + Number(fraction.padEnd(3, '0'));
  } else if (/^[-+]?[\d.]+$/.test(value)) {
    // A bare number in another form: toMs would read it as milliseconds, so it never gets there.
    if (value.startsWith('-')) throw new RangeError(`\`${variable}\` must be positive, got ${describeValue(value)}`);
    throw new TypeError(`\`${variable}\` must be ${TTL_FORMS}, got ${describeValue(value)}`);
  } else {
    try {
      result = toMs(value, variable);
    } catch (error) {
      if (error instanceof RangeError) {
        throw new RangeError(`\`${variable}\` must be positive, got ${describeValue(value)}`, { cause: error });
      }
      throw new TypeError(`\`${variable}\` must be ${TTL_FORMS}, got ${describeValue(value)}`, { cause: error });
    }
  }

  if (!Number.isInteger(result)) {
    throw new RangeError(`\`${variable}\` must be a whole number of milliseconds, got ${describeValue(value)}`);
  }
  if (!Number.isSafeInteger(result)) {
    throw new RangeError(`\`${variable}\` is too long, got ${describeValue(value)}`);
  }
  if (result <= 0) {
    throw new RangeError(
      `\`${variable}\` must be positive, got ${describeValue(value)} (a TTL of 0 would mean "never expires" to the cache)`,
    );
  }
  return result;
}
