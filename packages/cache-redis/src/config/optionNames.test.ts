import { createCache } from '../createCache';
import { RedisBackplane } from '../RedisBackplane';
import { RedisLock } from '../RedisLock';
import { RedisStore } from '../RedisStore';

/** Never used as a client: every case throws on the option name, before the client is looked at. */
const client = {} as never;

describe('unknown option names', () => {
  it.each([
    ['RedisStore', () => new RedisStore({ client, timeoutMS: 100 } as never), 'unknown RedisStore option `timeoutMS`: did you mean `timeoutMs`?'],
    ['RedisStore', () => new RedisStore({ client, prefx: 'a' } as never), 'unknown RedisStore option `prefx`: did you mean `prefix`?'],
    [
      'RedisStore breaker',
      () => new RedisStore({ client, breaker: { halfOpenAfterMs: 10 } } as never),
      'unknown RedisStore option `breaker.halfOpenAfterMs`: did you mean `breaker.halfOpenAfter`?',
    ],
    [
      'RedisStore.connect()',
      () => RedisStore.connect('redis://127.0.0.1:1', { redisOption: {} } as never),
      'unknown RedisStore.connect() option `redisOption`: did you mean `redisOptions`?',
    ],
    [
      'RedisStore.connect() client',
      () => RedisStore.connect('redis://127.0.0.1:1', { client } as never),
      'unknown RedisStore.connect() option `client`: use one of timeoutMs, breaker, prefix, version, serializer, clock, tombstoneTtl, redisOptions, clusterOptions',
    ],
    ['RedisBackplane', () => new RedisBackplane({ publisher: client, subscriber: client, chanel: 'x' } as never), 'unknown RedisBackplane option `chanel`: did you mean `channel`?'],
    [
      'RedisBackplane.connect()',
      () => RedisBackplane.connect('redis://127.0.0.1:1', { onErrors: () => undefined } as never),
      'unknown RedisBackplane.connect() option `onErrors`: did you mean `onError`?',
    ],
    ['RedisLock', () => new RedisLock({ client, versio: 'v2' } as never), 'unknown RedisLock option `versio`: did you mean `version`?'],
    ['createCache()', () => createCache({ CACHE_URL: 'redis://127.0.0.1:1' }, { tll: 5 } as never), 'unknown createCache() option `tll`: did you mean `ttl`?'],
  ])('%s refuses one with the closest valid name, before connecting', (_owner, make, message) => {
    expect(make).toThrow(new TypeError(message));
  });

  it.each([
    ['prefix', 'createCache() sets `prefix` itself: set CACHE_PREFIX in the environment you pass'],
    ['version', 'createCache() sets `version` itself: set CACHE_VERSION in the environment you pass'],
    ['store', 'createCache() sets `store` itself: give the backend in CACHE_URL, or make `new Cache({ store })` yourself'],
  ])('createCache() refuses `%s`, which it sets itself, instead of overriding it silently', (name, message) => {
    expect(() => createCache({ CACHE_URL: 'mem://' }, { [name]: 'x' } as never)).toThrow(new TypeError(message));
  });

  it('lets every documented option through', async () => {
    const handle = createCache({ CACHE_URL: 'mem://' }, { ttl: '1m', maxSize: 10, failSafe: '5m', isolation: 'freeze' });
    expect(handle.cache.scopeNames).toEqual([]);
    await handle.close();
  });
});
