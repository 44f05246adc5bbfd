/**
 * The `toolkit:cache:l2` tracing channel of `@toolkit/cache`, against the shared Redis through RedisStore:
 * a miss reads the L2 (one `get`), the factory runs and its value is written (one `set`), and a second cache
 * reads the value back with no factory run.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { Cache, CacheChannel } from '@toolkit/cache';
import { RedisStore } from '../../src/index';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from '../sharedRedis';
import { within } from '../redisServers';

const prefix = uniquePrefix('diagnostics').replaceAll(':', '.');
const closers: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await within(close(), 5_000, 'a cleanup');
  await cleanupPrefix(testRedisUrl(), prefix);
});

it('traces an L2 get against Redis: start, end, asyncStart, asyncEnd, with the entry Redis answered', async () => {
  const seen: Array<[string, Record<string, unknown>]> = [];
  const record = (event: string) => (context: unknown) => {
    const c = context as Record<string, unknown>;
    if (c.operation === 'get') seen.push([event, { ...c }]);
  };
  const handlers = { start: record('start'), end: record('end'), asyncStart: record('asyncStart'), asyncEnd: record('asyncEnd'), error: record('error') };
  const l2 = tracingChannel(CacheChannel.L2);
  l2.subscribe(handlers);
  const factoryRuns: unknown[] = [];
  const onLoad = (context: unknown) => factoryRuns.push((context as { key: string }).key);
  const loadStart = tracingChannel(CacheChannel.LOAD).start;
  loadStart.subscribe(onLoad);
  try {
    const connect = () => {
      const store = RedisStore.connect(testRedisUrl(), { prefix });
      const cache = new Cache({ store, ttl: 60_000 });
      closers.push(async () => {
        await cache.close();
        await store.close();
      });
      return cache.cached(async (id: number) => `user ${id}`, { name: 'users' });
    };
    const writer = connect();
    expect(await writer(7)).toBe('user 7'); // a miss: the L2 has nothing, the factory runs
    const reader = connect();
    expect(await within(reader(7), 5_000, 'the L2 read')).toBe('user 7'); // another cache: from Redis

    const context = { operation: 'get', scope: 'users', keys: 1 };
    expect(seen.map(([event, c]) => [event, { operation: c.operation, scope: c.scope, keys: c.keys }])).toEqual(
      ['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'asyncStart', 'asyncEnd'].map((event) => [event, context]),
    );
    expect(seen[2]?.[1].result).toEqual([undefined]);
    const [entry] = seen[6]?.[1].result as Array<{ value: unknown; tags: unknown }>;
    expect(entry?.value).toBe('user 7');
    expect(entry?.tags).toEqual([]);
    expect(seen.some(([event]) => event === 'error')).toBe(false);
    expect(factoryRuns).toEqual(['users:#7']); // the writer's; the reader's value came from Redis
  } finally {
    l2.unsubscribe(handlers);
    loadStart.unsubscribe(onLoad);
  }
});
