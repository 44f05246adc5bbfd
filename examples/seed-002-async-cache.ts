/**
 * Async cache (seed 002): get-or-load with a loader (one load for 1000 concurrent callers), per-key TTL
 * on `set` (and `ttl: null`), DataLoader-style batching, warm-up, metrics, `skipArgs`, and force refresh.
 *
 * Run: pnpm build && pnpm exec tsx examples/seed-002-async-cache.ts
 */
import assert from 'node:assert/strict';
import { Cache, isBatchLoadError } from '@toolkit/cache';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface User {
  id: string;
  name: string;
}

// A pretend database that records its queries.
const queries: string[] = [];
const db = {
  async findUser(id: string): Promise<User> {
    queries.push(`findUser ${id}`);
    await sleep(2);
    return { id, name: `user ${id}` };
  },
  async findUsers(ids: string[]): Promise<User[]> {
    queries.push(`findUsers ${ids.join(',')}`);
    await sleep(2);
    return ids.map((id) => ({ id, name: `user ${id}` }));
  },
};

const cache = new Cache({ maxSize: 1000, ttl: '5m' });

// --- 1. getOrSet: the value for a key, loaded on a miss -----------------------------------------------
const users = cache.scope<User>('users');
const getUser = (userId: string) => users.getOrSet(`user:${userId}`, () => db.findUser(userId));

const herd = await Promise.all(Array.from({ length: 1000 }, () => getUser('123')));
assert.equal(herd.length, 1000);
assert.deepEqual(queries, ['findUser 123']); // 1000 concurrent misses, one query
console.log('getOrSet: 1000 concurrent callers, 1 database query');

// Options on one call replace the scope's for that load only (here a per-call TTL).
let reportLoads = 0;
const loadReport = async () => `report #${++reportLoads}`;
const reports = cache.scope<string>('reports');
assert.equal(await reports.getOrSet('daily', loadReport, { ttl: 30 }), 'report #1');
assert.equal(await reports.getOrSet('daily', loadReport, { ttl: 30 }), 'report #1');
await sleep(40);
assert.equal(await reports.getOrSet('daily', loadReport, { ttl: 30 }), 'report #2');
console.log('getOrSet with { ttl: 30 }: reloaded after 40 ms');

// --- 2. Per-key TTL on set ---------------------------------------------------------------------------
const store = cache.scope<string>('store'); // the cache's default ttl: 5 minutes
await store.set('session:123', 'session data', { ttl: '1h' });
await store.set('temp:data', 'temporary', { ttl: 30 });
await store.set('permanent:data', 'forever', { ttl: null }); // never expires (0 and Infinity too)
await store.set('default:data', 'five minutes'); // the scope's ttl
await sleep(40);
assert.equal(await store.get('temp:data'), undefined);
assert.equal(await store.get('session:123'), 'session data');
assert.equal(await store.get('permanent:data'), 'forever');
assert.equal(await store.get('default:data'), 'five minutes');
console.log('set with { ttl }: the 30 ms key expired, the 1h, 5m and ttl: null keys did not');

// Manual invalidation.
assert.equal(await store.remove('session:123'), true);
assert.equal(await store.has('session:123'), false);
assert.equal(await cache.delete('store:permanent:data'), true); // a full key: the scope's name, then the local key
await store.clear();
assert.equal(store.size, 0);

// --- 3. DataLoader-style batching ---------------------------------------------------------------------
const batches: string[][] = [];
const byId = cache.scope<User>('usersById');
const userLoader = byId.batchLoader(
  async (ids) => {
    batches.push(ids);
    return db.findUsers(ids); // one value per key, in the order of the keys
  },
  { windowMs: 5, maxBatchSize: 100 },
);
const [ada, bob] = await Promise.all([userLoader.load('1'), userLoader.load('2')]);
assert.deepEqual([ada?.name, bob?.name], ['user 1', 'user 2']);
assert.deepEqual(batches, [['1', '2']]); // two calls in the same 5 ms window: one batch
// Values are stored in the scope: fresh keys never reach the batch function again.
const three = await userLoader.loadMany(['1', '2', '3']);
assert.deepEqual(three.map((u) => u.id), ['1', '2', '3']);
assert.deepEqual(batches, [['1', '2'], ['3']]);
console.log(`batchLoader: batches ${JSON.stringify(batches)}`);

// maxBatchSize splits large batches; a Map (or object) result must hold every key asked for.
const sizes: number[] = [];
const small = cache.scope<string>('small').batchLoader(
  async (keys) => {
    sizes.push(keys.length);
    return new Map(keys.filter((k) => k !== 'e').map((k) => [k, k.toUpperCase()]));
  },
  { maxBatchSize: 2 },
);
const settled = await Promise.allSettled(['a', 'b', 'c', 'd', 'e'].map((k) => small.load(k)));
assert.deepEqual(sizes, [2, 2, 1]);
assert.deepEqual(
  settled.slice(0, 4).map((s) => (s.status === 'fulfilled' ? s.value : s.status)),
  ['A', 'B', 'C', 'D'],
);
const missing = settled[4];
assert.ok(missing?.status === 'rejected' && isBatchLoadError(missing.reason));
assert.equal(missing.reason.code, 'E_CACHE_BATCH_LOAD');
console.log(`batchLoader with maxBatchSize 2: batch sizes ${sizes.join(', ')}; the key left out of the Map failed`);

// --- 4. Warm-up: load hot keys before traffic arrives --------------------------------------------------
const config = cache.scope<unknown>('config');
const warm = await config.warmup({
  'config:app': async () => ({ theme: 'dark' }),
  'feature-flags': async () => ['new-checkout'],
  'popular:products': async () => {
    throw new Error('search service down');
  },
});
assert.deepEqual(warm.loaded.sort(), ['config:app', 'feature-flags']);
assert.equal(warm.failed.length, 1); // a failing loader does not stop the others
assert.equal(warm.failed[0]?.key, 'popular:products');
assert.deepEqual(await config.get('config:app'), { theme: 'dark' }); // a hit from now on
console.log(`warmup: loaded ${warm.loaded.join(', ')}; failed ${warm.failed.map((f) => f.key).join(', ')}`);

// --- 5. Metrics ------------------------------------------------------------------------------------------
const first = users.stats();
assert.equal(first.hits, 0); // the 999 callers that joined the first load count as misses, not hits
assert.equal(first.misses, 1000);
assert.equal(first.loads, 1);
users.resetStats(); // counters back to zero, entries stay
for (let i = 0; i < 9; i++) await getUser('123'); // 9 hits
await getUser('456'); // 1 miss
const metrics = users.stats();
assert.deepEqual(
  { hits: metrics.hits, misses: metrics.misses, hitRate: metrics.hitRate, size: metrics.size },
  { hits: 9, misses: 1, hitRate: 0.9, size: 2 },
);
const all = cache.stats(); // every scope added up, and each one under `scopes`
assert.equal(all.scopes.users?.hits, 9);
console.log(
  `metrics: hit rate ${(metrics.hitRate * 100).toFixed(0)}%, size ${metrics.size}, ` +
    `hits/misses ${metrics.hits}/${metrics.misses}; cache-wide: ${all.loads} loads in ${Object.keys(all.scopes).length} scopes`,
);

// --- 6. skipArgs: leave leading arguments (a request context, a connection) out of the key ---------------
interface RequestContext {
  requestId: string;
}
let profileLoads = 0;
const getProfile = cache.cached(
  async (_ctx: RequestContext, userId: number) => {
    profileLoads++;
    return { userId, bio: '...' };
  },
  { name: 'getProfile', skipArgs: 1 },
);
await getProfile({ requestId: 'req-1' }, 7);
await getProfile({ requestId: 'req-2' }, 7); // another context, same key: a hit
assert.equal(profileLoads, 1);
assert.equal(getProfile.keyFor({ requestId: 'anything' }, 7), 'getProfile:#7');
// `this` is never part of a key, so methods need no skipArgs for it.
console.log(`skipArgs: 1: two request contexts, one load; key ${getProfile.keyFor({ requestId: 'x' }, 7)}`);

// --- 7. Force refresh: bypass the cache for one call ------------------------------------------------------
let serviceStatus = 'ok';
const getStatus = cache.cached(async () => serviceStatus, { name: 'getStatus', ttl: '1m' });
assert.equal(await getStatus(), 'ok');
serviceStatus = 'degraded';
assert.equal(await getStatus(), 'ok'); // cached
assert.equal(await getStatus.refresh(), 'degraded'); // runs the function, stores its result
assert.equal(await getStatus(), 'degraded'); // the refreshed value is what later calls get
console.log('refresh(): bypassed the cached "ok" and stored "degraded"');
