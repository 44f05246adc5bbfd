import { CACHE_OPTIONS, Cache, MemoryLock, checkOptionKeys } from '@toolkit/cache';
import type { CacheOptions } from '@toolkit/cache';
import { cacheConfigFromEnv } from './config/cacheConfigFromEnv';
import type { CacheEnv, CacheEnvConfig } from './config/cacheConfigFromEnv';
import { RedisBackplane } from './RedisBackplane';
import { RedisLock } from './RedisLock';
import { RedisStore } from './RedisStore';

/** What {@link createCache} made: the cache, the configuration it read, and its lifecycle. */
export interface CacheHandle {
  /** The cache: L1 only for `mem://`, L1 + Redis L2 + backplane + lock for Redis. */
  readonly cache: Cache;
  /** The configuration read from the environment (URL, backend, prefix, version, TTL buckets). */
  readonly config: CacheEnvConfig;
  /** The Redis store, when the backend is Redis. */
  readonly store: RedisStore | undefined;
  /** Resolves when the backend answers (at once in memory); rejects when Redis does not. For health checks. */
  ping(): Promise<void>;
  /** Lets loads and writes in flight finish, then closes every connection this handle opened. */
  close(): Promise<void>;
}

/**
 * The Cache options createCache() makes itself, so `options` may not hold them.
 * @inline
 */
type MadeHere = 'store' | 'backplane' | 'lock' | 'prefix' | 'version';

/** What createCache() makes or reads itself, and what to do instead of passing it. */
const MADE_HERE: Record<MadeHere, string> = {
  store: 'give the backend in CACHE_URL, or make `new Cache({ store })` yourself',
  backplane: 'give the backend in CACHE_URL, or make `new Cache({ backplane })` yourself',
  lock: 'give the backend in CACHE_URL, or make `new Cache({ lock })` yourself',
  prefix: 'set CACHE_PREFIX in the environment you pass',
  version: 'set CACHE_VERSION in the environment you pass',
};

/**
 * A cache configured from the environment (seed 003): `CACHE_URL` (else `REDIS_URL`, else `mem://`),
 * `CACHE_PREFIX`, `CACHE_VERSION`, `CACHE_TTL_DEFAULT` (the cache's default `ttl`). Redis in production,
 * memory in development and tests, with the same code. A bad variable throws at start-up, naming it.
 *
 * `options` are the cache's other options (they win over the environment's `ttl`). A name that is not
 * an option throws a `TypeError` naming the closest one; `store`, `backplane`, `lock`, `prefix` and
 * `version` throw too, since this function makes or reads them itself.
 *
 * @example
 * const { cache, ping, close } = createCache(); // reads process.env
 * const getUser = cache.cached((id: number) => db.users.find(id), { key: 'user:{0}', distributedLock: true });
 * app.get('/health', async () => (await ping(), 'ok'));
 * process.on('SIGTERM', () => void close());
 */
export function createCache(env: CacheEnv = process.env, options: Omit<CacheOptions, MadeHere> = {}): CacheHandle {
  if (options !== null && typeof options === 'object') {
    for (const name of Object.keys(MADE_HERE) as MadeHere[]) {
      if (name in options) throw new TypeError(`createCache() sets \`${name}\` itself: ${MADE_HERE[name]}`);
    }
    checkOptionKeys(options, CACHE_OPTIONS, 'createCache()');
  }
  const config = cacheConfigFromEnv(env);
  const base: CacheOptions = { ttl: config.ttl.default, ...options, prefix: config.prefix, version: config.version };
  if (config.backend.kind === 'memory') {
    // One process: its lock is in memory, so code asking for distributedLock runs the same in development.
    const cache = new Cache({ ...base, lock: new MemoryLock() });
    return { cache, config, store: undefined, ping: () => Promise.resolve(), close: () => cache.close() };
  }
  const namespace = { prefix: config.prefix, version: config.version };
  const store = RedisStore.connect(config.backend, namespace);
  const backplane = RedisBackplane.connect(config.backend, namespace);
  const lock = new RedisLock({ client: store.client, ...namespace });
  const cache = new Cache({ ...base, store, backplane, lock });
  return {
    cache,
    config,
    store,
    ping: () => store.ping(),
    close: async () => {
      await cache.close();
      await Promise.all([backplane.close(), store.close()]);
    },
  };
}
