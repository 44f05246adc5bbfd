// The cache-hit path, side by side in one process run: a memoized async function answering from memory.
// Run: pnpm --filter @toolkit/benchmarks bench   (after `pnpm build`)
import { Cache } from '@toolkit/cache';
import { LRUCache } from 'lru-cache';
import QuickLRU from 'quick-lru';
import { Bench } from 'tinybench';

const KEYS = 1_000;
const ids = Array.from({ length: KEYS }, (_, i) => i);
const load = async (id: number) => ({ id, name: `user${id}` });

// Ours: the wrapper users write.
const cache = new Cache({ ttl: '1h', maxSize: KEYS });
const cachedUser = cache.cached(load);
const scope = cache.scope<{ id: number; name: string }>('users', { maxSize: KEYS, ttl: '1h' });

// Peers: what users glue together by hand today (a memoize over an LRU with TTL).
const lru = new LRUCache<number, { id: number; name: string }>({ max: KEYS, ttl: 3_600_000 });
const lruUser = async (id: number) => {
  const hit = lru.get(id);
  if (hit !== undefined) return hit;
  const value = await load(id);
  lru.set(id, value);
  return value;
};
const quick = new QuickLRU<number, { id: number; name: string }>({ maxSize: KEYS, maxAge: 3_600_000 });
const quickUser = async (id: number) => {
  const hit = quick.get(id);
  if (hit !== undefined) return hit;
  const value = await load(id);
  quick.set(id, value);
  return value;
};

for (const id of ids) {
  await cachedUser(id);
  await scope.getOrSet(String(id), () => load(id));
  await lruUser(id);
  await quickUser(id);
}

let i = 0;
const next = () => ids[(i = (i + 1) % KEYS)] as number;
const bench = new Bench({ time: 1_000, warmup: true });
bench
  .add('@toolkit/cache cached(fn)(id)', async () => void (await cachedUser(next())))
  .add('@toolkit/cache scope.getOrSet(key)', async () => {
    const id = next();
    await scope.getOrSet(String(id), () => load(id));
  })
  .add('lru-cache + hand-written memoize', async () => void (await lruUser(next())))
  .add('quick-lru + hand-written memoize', async () => void (await quickUser(next())));

await bench.run();
console.table(
  bench.tasks.map((t) => {
    const r = t.result as unknown as { throughput?: { mean: number }; latency?: { mean: number } } | undefined;
    return {
      task: t.name,
      'ops/s': Math.round(r?.throughput?.mean ?? 0).toLocaleString('en'),
      'mean (ns)': Math.round((r?.latency?.mean ?? 0) * 1e6),
    };
  }),
);
const stats = cache.stats();
if (stats.hits === 0 || stats.misses !== 2 * KEYS) throw new Error(`unexpected stats: ${JSON.stringify(stats)}`);
