/**
 * 7. L2 on Redis (loopback), against a private redis-server started for the scenario on a free 127.0.0.1
 * port and stopped at its end. Three measurements, each its own result:
 *
 * - `l2-read`: reads that miss L1 and hit Redis, 64 concurrent callers, reads/s. Ours reads through a
 *   scope whose L1 holds one entry, so every read goes to Redis; against raw ioredis GET + JSON.parse of
 *   the same values, and bentocache with only its Redis layer.
 * - `l2-batch`: one caller loading 100 keys at a time; ms per batch, and the commands and socket writes
 *   each batch costs (server-side `INFO commandstats` deltas, client-side socket writes).
 * - `backplane`: how long after a write in one process another process's L1 has dropped the old value
 *   (p50, p99, max over many invalidations), with raw pub/sub as a reference.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import type { Redis } from 'ioredis';
import { Cache } from '@toolkit/cache';
import type { CacheScope } from '@toolkit/cache';
import { RedisBackplane, RedisStore } from '@toolkit/cache-redis';
import { ChildWorker, wallClock } from '../harness/childWorker';
import type { FromWorker } from '../harness/childWorker';
import { formatNumber } from '../harness/format';
import { interleave, rowOf } from '../harness/interleave';
import type { Sampled } from '../harness/interleave';
import { closeQuietly, commandCalls, commandDelta, countSocketWrites, rawClient, withPrivateRedis } from '../harness/redisServer';
import { median, percentile, summarize } from '../harness/stats';
import { atLeast, bound } from '../harness/targets';
import type { Metric, Row, Scenario, ScenarioResult, TargetResult } from '../harness/types';

const KEYS = 10_000;
const CONCURRENCY = 64;
const BATCH = 100;
const TTL = '1h';
const WORKER_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workers', 'redisCacheWorker.ts');
const collectGarbage = (globalThis as { gc?: () => void }).gc;

/** A realistic small record (about 190 bytes of JSON). */
const user = (id: number) => ({
  id,
  name: `User ${id}`,
  email: `user${id}@example.com`,
  roles: id % 10 === 0 ? ['admin', 'reader'] : ['reader'],
  active: id % 7 !== 0,
  score: ((id * 37) % 1000) / 10,
  createdAt: new Date(1_700_000_000_000 + id * 60_000).toISOString(),
});
type User = ReturnType<typeof user>;
const ourKey = (i: number) => `user:${i}`; // a local key of scope `users`: its full key is `users:user:<i>`
const rawKey = (i: number) => `raw:user:${i}`;

function skippedResult(id: string, title: string, workload: string, metric: Metric, targets: readonly string[], reason: string): ScenarioResult {
  return {
    id,
    title,
    workload,
    metric,
    rows: [],
    targets: targets.map((target) => ({ target, met: false, measured: `not measured: ${reason}` })),
    notes: [`Skipped: no private Redis could be started (${reason}). Install redis-server (apt-get install redis-server) or set REDIS_SERVER_BIN.`],
  };
}

/** Our store on its own connection (RedisStore.connect: auto-pipelining, 500 ms command timeout). */
function ourStore(url: string, version: string): RedisStore {
  return RedisStore.connect(url, { prefix: 'bench', version });
}

/** Writes KEYS records through our cache (so they are in our layout in Redis) and as raw JSON under their own keys. */
async function prefill(url: string, version: string, raw: Redis): Promise<void> {
  const store = ourStore(url, version);
  const writer = new Cache({ ttl: TTL, store, prefix: 'bench', version });
  try {
    const scope = writer.scope<User>('users', { maxSize: KEYS });
    for (let start = 0; start < KEYS; start += 1_000) {
      const chunk = Array.from({ length: Math.min(1_000, KEYS - start) }, (_, n) => [ourKey(start + n), user(start + n)] as const);
      await scope.setMany(chunk);
      const pipeline = raw.pipeline();
      for (let i = start; i < start + chunk.length; i++) pipeline.set(rawKey(i), JSON.stringify(user(i)), 'EX', 3600);
      await pipeline.exec();
    }
  } finally {
    await writer.close();
    await store.close();
  }
  if ((await raw.dbsize()) < 2 * KEYS) throw new Error(`prefill: Redis holds ${await raw.dbsize()} keys, expected ${2 * KEYS}`);
}

/** bentocache with its Redis layer only (no memory layer), on a connection we own. */
function bentoOnRedis(connection: Redis) {
  return new BentoCache({ default: 'redis', stores: { redis: bentostore().useL2Layer(redisDriver({ connection })) } });
}

/** `workers` async callers, each reading back to back until `ms` have passed; reads per second. */
async function concurrentReads(workers: number, ms: number, nextKey: () => number, read: (i: number) => Promise<unknown>): Promise<number> {
  let reads = 0;
  const began = performance.now();
  const end = began + ms;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < end) {
        await read(nextKey());
        reads++;
      }
    }),
  );
  return reads / ((performance.now() - began) / 1000);
}

const readMetric: Metric = { unit: 'reads/s', higherIsBetter: true };
const READ = {
  getOrSet: 'ours: scope.getOrSet, L1 maxSize 1',
  get: 'ours: scope.get, L1 maxSize 1',
  raw: 'raw ioredis GET + JSON.parse',
  rawPipelined: 'raw ioredis GET + JSON.parse (enableAutoPipelining)',
  bento: 'bentocache 1.6.1, Redis layer only',
} as const;

/** 7a. Reads that miss L1 and hit Redis, 64 concurrent callers. */
export const l2Read: Scenario = {
  id: 'l2-read',
  async run({ quick, log }) {
    const title = '7a. L2 read on Redis (L1 miss, L2 hit), 64 concurrent callers';
    const workload = `${KEYS.toLocaleString('en')} JSON records (~190 bytes) in a private local redis-server; ${CONCURRENCY} async callers each read back to back, keys in sequence over all ${KEYS.toLocaleString('en')}. Ours reads through a scope with L1 \`maxSize: 1\`, so every read goes to Redis.`;
    return withPrivateRedis<ScenarioResult>(
      async (server) => {
        const raw = rawClient(server.url);
        const rawPipelined = rawClient(server.url, { autoPipelining: true });
        const bentoConnection = rawClient(server.url);
        const stores = [ourStore(server.url, 'read'), ourStore(server.url, 'read')];
        const caches = stores.map((store) => new Cache({ ttl: TTL, store, prefix: 'bench', version: 'read' }));
        let bento: ReturnType<typeof bentoOnRedis> | undefined;
        try {
          await prefill(server.url, 'read', raw);
          bento = bentoOnRedis(bentoConnection);
          for (let start = 0; start < KEYS; start += 1_000) {
            await Promise.all(Array.from({ length: Math.min(1_000, KEYS - start) }, (_, n) => bento!.set({ key: ourKey(start + n), value: user(start + n), ttl: TTL })));
          }

          const viaGetOrSet: CacheScope<User> = caches[0]!.scope<User>('users', { maxSize: 1 });
          const viaGet: CacheScope<User> = caches[1]!.scope<User>('users', { maxSize: 1 });
          let factoryCalls = 0;
          const neverCalled = () => {
            factoryCalls++;
            return user(-1);
          };
          const sampleMs = quick ? 40 : 250;
          const counters = new Map<string, number>();
          const contender = (name: string, ours: boolean, read: (i: number) => Promise<unknown>): Sampled => {
            counters.set(name, 0);
            const nextKey = () => {
              const n = counters.get(name)!;
              counters.set(name, n + 1);
              return n % KEYS;
            };
            return { name, ours, sample: () => concurrentReads(CONCURRENCY, sampleMs, nextKey, read) };
          };
          const bentoCache = bento;
          const contenders: Sampled[] = [
            contender(READ.getOrSet, true, (i) => viaGetOrSet.getOrSet(ourKey(i), neverCalled)),
            contender(READ.get, true, async (i) => {
              if ((await viaGet.get(ourKey(i))) === undefined) throw new Error(`ours: ${ourKey(i)} missing from Redis`);
            }),
            contender(READ.raw, false, async (i) => JSON.parse((await raw.get(rawKey(i)))!) as User),
            contender(READ.rawPipelined, false, async (i) => JSON.parse((await rawPipelined.get(rawKey(i)))!) as User),
            contender(READ.bento, false, async (i) => {
              if ((await bentoCache.get({ key: ourKey(i) })) === undefined) throw new Error(`bentocache: ${ourKey(i)} missing`);
            }),
          ];
          const summaries = await interleave(contenders, quick ? { rounds: 2, warmupRounds: 1, gc: 'minor' } : { rounds: 10, warmupRounds: 2 });
          // Every call counts once as a hit or a miss, and every read answered from Redis once as an L2 hit
          // (getOrSet counts those as misses, get as hits), so the reads L1 answered are the difference.
          const served = [viaGetOrSet.stats(), viaGet.stats()].map((s) => ({ reads: s.hits + s.misses, fromRedis: s.l2Hits }));
          const reads = served.reduce((sum, s) => sum + s.reads, 0);
          const fromRedis = served.reduce((sum, s) => sum + s.fromRedis, 0);
          const fromL1 = reads - fromRedis;
          log(`ours: ${formatNumber(reads)} reads, ${formatNumber(fromRedis)} answered from Redis, ${fromL1} from L1; factory calls ${factoryCalls}`);
          const rows: Row[] = summaries.map(rowOf);
          const rawBest = [READ.raw, READ.rawPipelined].reduce((a, b) => (rows.find((r) => r.name === a)!.median >= rows.find((r) => r.name === b)!.median ? a : b));
          const targets: TargetResult[] = [
            atLeast(rows, readMetric, READ.getOrSet, rawBest, 0.8, `ours (getOrSet) ≥ 0.8× raw ioredis GET + JSON.parse (the faster raw client: ${rawBest === READ.raw ? 'default options' : 'auto-pipelined'})`),
            atLeast(rows, readMetric, READ.getOrSet, READ.raw, 0.8, 'ours (getOrSet) ≥ 0.8× raw ioredis GET + JSON.parse (ioredis defaults)'),
            atLeast(rows, readMetric, READ.get, READ.raw, 0.8, 'ours (scope.get) ≥ 0.8× raw ioredis GET + JSON.parse (ioredis defaults)'),
            bound(
              'every read of ours went to Redis (no L1 hit, no factory call)',
              fromL1 + factoryCalls,
              0,
              'max',
              `${formatNumber(fromRedis)} of ${formatNumber(reads)} reads answered from Redis, ${fromL1} from L1, ${factoryCalls} factory calls`,
            ),
          ];
          return {
            id: 'l2-read',
            title,
            workload,
            metric: readMetric,
            rows,
            targets,
            notes: [
              `How every read of ours reaches Redis: the reading scopes have \`maxSize: 1\` and keys go in sequence over ${KEYS.toLocaleString('en')}, so the one entry L1 holds is never the next one asked (counted from the scopes' stats: ${formatNumber(fromRedis)} of ${formatNumber(reads)} reads, warm-up included, answered from Redis). Each L2 hit still copies the entry into L1 (evicting the previous one): that cost is part of ours.`,
              `Ours: \`new Cache({ ttl: '1h', store: RedisStore.connect(url) })\` (jsonSerializer, auto-pipelining, 500 ms timeout and circuit breaker: the defaults), no backplane (reads publish nothing). Values were written through our cache (\`scope.setMany\`), so each Redis value is our header line plus the JSON; the store decodes both and checks the entry's timeline.`,
              'getOrSet lookups made in the same tick are coalesced by the cache into one `getMany`, so the 64 callers\' reads leave as MGETs of many keys (SharedLayer). That is the library\'s normal behaviour, not a benchmark trick.',
              '`scope.get` is not coalesced: `scope.get(k)` is `scope.getMany([k])`, which calls the store directly, so each call is a store operation of its own: an MGET of one key under the store\'s guard (a cockatiel timeout, which alone costs about 15 µs per call for its AbortController and timer, plus the circuit breaker and ioredis\' own command timer). That per-call overhead, not Redis, is what holds it back at 64 concurrent callers.',
              'Raw: each read is `JSON.parse(await client.get(key))` of the same record stored by a plain SET under its own key; once with ioredis defaults, once with `enableAutoPipelining: true` (what our store uses). The target is checked against the faster of the two and, separately, against the defaults.',
              'bentocache: `bentostore().useL2Layer(redisDriver({ connection }))` with no memory layer, on an ioredis 6 client (its declared peer is ioredis 5; the calls it makes work unchanged on 6). Values written with `bento.set`.',
              `Each sample: ${CONCURRENCY} callers for ${sampleMs} ms; samples interleaved round-robin with the other contenders. Everything (clients, redis-server) shares this machine's CPUs.`,
            ],
          } satisfies ScenarioResult;
        } finally {
          await Promise.all(caches.map((c) => c.close()));
          await Promise.all(stores.map((s) => s.close()));
          await bento?.disconnect().catch(() => undefined);
          await Promise.all([raw, rawPipelined, bentoConnection].map(closeQuietly));
        }
      },
      (reason) => skippedResult('l2-read', title, workload, readMetric, ['ours ≥ 0.8× raw ioredis GET + JSON.parse'], reason),
    );
  },
};

const batchMetric: Metric = { unit: 'ms', higherIsBetter: false };
const BATCHED = {
  getMany: 'ours: scope.getMany(100 keys)',
  loadMany: 'ours: batchLoader.loadMany(100 keys)',
  mget: 'raw ioredis MGET of 100 keys + JSON.parse',
  mgetOurBytes: 'raw ioredis MGET of our stored bytes + parse header and value',
  gets: 'raw ioredis 100 parallel GETs + JSON.parse',
  getsPipelined: 'raw ioredis 100 parallel GETs (enableAutoPipelining)',
} as const;

/** 7b. 100 keys in one call, already in Redis, not in L1. */
export const l2Batch: Scenario = {
  id: 'l2-batch',
  async run({ quick, log }) {
    const title = '7b. L2 batch of 100 keys on Redis';
    const workload = `${KEYS.toLocaleString('en')} JSON records in a private local redis-server; one caller loads 100 keys at a time, back to back (a different window of keys each batch). Ours reads through scopes with L1 \`maxSize: 1\`, so every key comes from Redis.`;
    return withPrivateRedis<ScenarioResult>(
      async (server) => {
        const admin = rawClient(server.url);
        const raw = rawClient(server.url);
        const rawGets = rawClient(server.url);
        const rawPipelined = rawClient(server.url, { autoPipelining: true });
        const rawOurBytes = rawClient(server.url);
        const stores = [ourStore(server.url, 'batch'), ourStore(server.url, 'batch')];
        const caches = stores.map((store) => new Cache({ ttl: TTL, store, prefix: 'bench', version: 'batch' }));
        try {
          await prefill(server.url, 'batch', raw);
          const scope = caches[0]!.scope<User>('users', { maxSize: 1 });
          let batchCalls = 0;
          const loader = caches[1]!.scope<User>('users', { maxSize: 1 }).batchLoader(async (keys) => {
            batchCalls++;
            return keys.map(() => user(-1));
          });
          const windowOf = (j: number) => {
            const start = (j * BATCH) % KEYS;
            return Array.from({ length: BATCH }, (_, n) => start + n);
          };
          /** Our serializer's format without the cache: a header line, a newline, then the value's JSON. */
          const parseOurs = (text: string | null) => {
            if (text === null) return undefined;
            const newline = text.indexOf('\n');
            JSON.parse(text.slice(0, newline));
            return JSON.parse(text.slice(newline + 1)) as User;
          };
          const check = (values: ReadonlyArray<User | undefined>, what: string) => {
            if (values.length !== BATCH || values.some((v) => v === undefined)) throw new Error(`${what}: a key was missing`);
          };
          const ops: Array<{ name: string; ours: boolean; client: Redis; batch: (ids: number[]) => Promise<void> }> = [
            {
              name: BATCHED.getMany,
              ours: true,
              client: stores[0]!.client as Redis,
              batch: async (ids) => check(await scope.getMany(ids.map(ourKey)), BATCHED.getMany),
            },
            {
              name: BATCHED.loadMany,
              ours: true,
              client: stores[1]!.client as Redis,
              batch: async (ids) => check(await loader.loadMany(ids.map(ourKey)), BATCHED.loadMany),
            },
            {
              name: BATCHED.mget,
              ours: false,
              client: raw,
              batch: async (ids) => check((await raw.mget(ids.map(rawKey))).map((s) => (s === null ? undefined : (JSON.parse(s) as User))), BATCHED.mget),
            },
            {
              name: BATCHED.mgetOurBytes,
              ours: false,
              client: rawOurBytes,
              batch: async (ids) => check((await rawOurBytes.mget(ids.map((i) => stores[0]!.entryKey(`users:${ourKey(i)}`)))).map(parseOurs), BATCHED.mgetOurBytes),
            },
            {
              name: BATCHED.gets,
              ours: false,
              client: rawGets,
              batch: async (ids) => check(await Promise.all(ids.map(async (i) => JSON.parse((await rawGets.get(rawKey(i)))!) as User)), BATCHED.gets),
            },
            {
              name: BATCHED.getsPipelined,
              ours: false,
              client: rawPipelined,
              batch: async (ids) =>
                check(await Promise.all(ids.map(async (i) => JSON.parse((await rawPipelined.get(rawKey(i)))!) as User)), BATCHED.getsPipelined),
            },
          ];

          const batchesPerSample = quick ? 20 : 150;
          const contenders: Sampled[] = ops.map((op) => {
            let j = 0;
            return {
              name: op.name,
              ours: op.ours,
              async sample() {
                const times: number[] = [];
                for (let n = 0; n < batchesPerSample; n++) {
                  const ids = windowOf(j++);
                  const began = process.hrtime.bigint();
                  await op.batch(ids);
                  times.push(Number(process.hrtime.bigint() - began) / 1e6);
                }
                return median(times);
              },
            };
          });
          const summaries = await interleave(contenders, quick ? { rounds: 2, warmupRounds: 1, gc: 'minor' } : { rounds: 10, warmupRounds: 2 });

          // Commands and socket writes per batch, counted apart from the timed samples: one contender at a
          // time, so the server's counters see only its commands.
          const COUNTED = 20;
          const counted = new Map<string, { commands: Map<string, number>; writes: number }>();
          for (const op of ops) {
            const before = await commandCalls(admin);
            const writes = countSocketWrites(op.client);
            try {
              for (let n = 0; n < COUNTED; n++) await op.batch(windowOf(1_000 + n));
            } finally {
              writes.restore();
            }
            counted.set(op.name, { commands: commandDelta(before, await commandCalls(admin)), writes: writes.count });
          }
          const perBatch = (name: string) => {
            const c = counted.get(name)!;
            const total = [...c.commands.values()].reduce((a, b) => a + b, 0) / COUNTED;
            const kinds = [...c.commands].map(([command, n]) => `${formatNumber(n / COUNTED)} ${command.toUpperCase()}`).join(' + ');
            return { total, kinds: kinds || 'none', mgets: (c.commands.get('mget') ?? 0) / COUNTED, writes: c.writes / COUNTED };
          };
          for (const op of ops) log(`${op.name}: ${perBatch(op.name).kinds} and ${formatNumber(perBatch(op.name).writes)} socket writes per batch`);

          const rows: Row[] = summaries.map((s) => {
            const p = perBatch(s.name);
            return {
              ...rowOf(s),
              extra: { 'commands to Redis per batch': `${formatNumber(p.total)} (${p.kinds})`, 'socket writes per batch': formatNumber(p.writes) },
            };
          });
          const roundTrip = (name: string): TargetResult => {
            const p = perBatch(name);
            return bound(
              `1 round trip (1 MGET) per 100-key batch: ${name}`,
              p.total === 1 && p.mgets === 1 ? 1 : Math.max(p.total, 2),
              1,
              'max',
              `${formatNumber(p.total)} commands per batch (${p.kinds}), ${formatNumber(p.writes)} socket writes`,
            );
          };
          return {
            id: 'l2-batch',
            title,
            workload,
            metric: batchMetric,
            rows,
            columns: ['commands to Redis per batch', 'socket writes per batch'],
            targets: [
              roundTrip(BATCHED.getMany),
              roundTrip(BATCHED.loadMany),
              bound('the batch loader\'s batch function is never called (every key was in Redis)', batchCalls, 0, 'max', `${batchCalls} calls`),
            ],
            notes: [
              'Ours: `scope.getMany(keys)` (the read of many keys) and `scope.batchLoader(fn).loadMany(keys)` (the load of many keys, DataLoader-style), each on its own Cache and RedisStore connection; L1 `maxSize: 1`. `getMany` sends its L1 misses to the store in one call; the batch loader\'s 100 loads, made in one tick, are coalesced by the cache into one store lookup (SharedLayer).',
              `Commands per batch: \`INFO commandstats\` of the private server before and after ${COUNTED} batches of one contender alone (INFO itself left out). Socket writes: writes to that contender's ioredis socket over the same ${COUNTED} batches (one write carries one command, or a whole auto-pipelined batch).`,
              `Latency: ${batchesPerSample} batches per sample, the sample's median; the table shows the median (and range) of the samples' medians. One caller, no other load.`,
              `"${BATCHED.mgetOurBytes}" reads the very bytes ours reads and parses them as our JSON serializer does (a header line with the timeline and tags, then the value), without the cache: the gap from plain MGET to it is the cost of our format, the gap from it to ours is the library (the store's timeout and circuit breaker, timeline and tag checks, the L1 fill).`,
              'Raw: JSON.parse of each value in every case; MGET and the 100 GETs of a default ioredis client send 1 and 100 commands; with `enableAutoPipelining` the 100 GETs leave in one socket write but are still 100 commands for Redis.',
            ],
          } satisfies ScenarioResult;
        } finally {
          await Promise.all(caches.map((c) => c.close()));
          await Promise.all(stores.map((s) => s.close()));
          await Promise.all([admin, raw, rawGets, rawPipelined, rawOurBytes].map(closeQuietly));
        }
      },
      (reason) => skippedResult('l2-batch', title, workload, batchMetric, ['1 round trip (1 MGET) per 100-key batch'], reason),
    );
  },
};

const propagationMetric: Metric = { unit: 'ms', higherIsBetter: false };
const PROPAGATION = {
  set: 'ours: scope.set() here → gone from the other L1',
  remove: 'ours: scope.remove() here → gone from the other L1',
  raw: 'reference: raw ioredis PUBLISH → other process receives',
} as const;

/** 7c. Invalidation reaching another process through the Redis backplane. */
export const backplane: Scenario = {
  id: 'backplane',
  async run({ quick, log }) {
    const title = '7c. Backplane: invalidation reaching another process';
    const perKind = quick ? 100 : 500;
    const workload = `Two processes on one private local redis-server, each with a Cache on RedisStore + RedisBackplane. The other process holds a key in L1; this one sets or removes it (${perKind} times each); the time until the other process's L1 no longer holds the old value, one way, on a clock both processes share.`;
    return withPrivateRedis<ScenarioResult>(
      async (server) => {
        const namespace = { prefix: 'benchbp', version: 'v1' };
        const store = RedisStore.connect(server.url, namespace);
        const bus = RedisBackplane.connect(server.url, namespace);
        const cache = new Cache({ ttl: TTL, store, backplane: bus, ...namespace });
        const publisher = rawClient(server.url);
        let worker: ChildWorker | undefined;
        try {
          await cache.ready;
          const scope = cache.scope<{ v: number }>('bp', { maxSize: 1_000 });
          worker = new ChildWorker('backplane-worker', WORKER_FILE, { BENCH_REDIS_URL: server.url, BENCH_ROLE: 'backplane', BENCH_PREFIX: namespace.prefix });
          await worker.ready();
          const child = worker;

          // How far apart the two processes' clocks are: the child's reading against the middle of our
          // request's round trip, from the exchange with the shortest round trip.
          let offset = 0;
          let bestRtt = Infinity;
          for (let n = 0; n < 30; n++) {
            const t0 = wallClock();
            const at = await child.request<number>({ cmd: 'clock' });
            const t1 = wallClock();
            if (t1 - t0 < bestRtt) {
              bestRtt = t1 - t0;
              offset = at - (t0 + t1) / 2;
            }
          }
          log(`clock offset child − parent ≈ ${(offset * 1000).toFixed(0)} µs (± ${((bestRtt / 2) * 1000).toFixed(0)} µs)`);

          const times: Record<keyof typeof PROPAGATION, number[]> = { set: [], remove: [], raw: [] };
          const lost: Record<keyof typeof PROPAGATION, number> = { set: 0, remove: 0, raw: 0 };
          const via = new Map<string, number>();
          const kinds = ['set', 'remove', 'raw'] as const;
          const warmup = 20;
          for (let n = 0; n < perKind + warmup; n++) {
            if (n % 50 === 0) collectGarbage?.();
            for (let k = 0; k < kinds.length; k++) {
              const kind = kinds[(n + k) % kinds.length]!;
              let seen: Promise<FromWorker>;
              let t0: number;
              if (kind === 'raw') {
                const token = `t${n}`;
                await child.request({ cmd: 'watchRaw', token });
                seen = child.next((m) => m.type === 'raw' && m.token === token, 2_000, `raw message ${token}`);
                t0 = wallClock();
                await publisher.publish('bench:raw-bus', token);
              } else {
                const key = `item:${kind}:${n}`;
                await child.request({ cmd: 'hold', key });
                seen = child.next((m) => m.type === 'dropped' && m.key === key, 2_000, `drop of ${key}`);
                t0 = wallClock();
                if (kind === 'set') await scope.set(key, { v: 2 });
                else await scope.remove(key);
              }
              try {
                const message = await seen;
                if (n < warmup) continue;
                times[kind].push((message.at as number) - t0);
                if (kind !== 'raw') via.set(String(message.via), (via.get(String(message.via)) ?? 0) + 1);
              } catch {
                if (n >= warmup) lost[kind]++;
              }
            }
          }

          const rows: Row[] = kinds.map((kind) => {
            const values = times[kind];
            const s = values.length > 0 ? summarize(values) : { median: NaN, min: NaN, max: NaN };
            const ms = (v: number) => (values.length > 0 ? v.toFixed(3) : 'n/a');
            return {
              name: PROPAGATION[kind],
              ours: kind !== 'raw',
              median: s.median,
              min: s.min,
              max: s.max,
              extra: {
                p50: ms(s.median),
                p99: ms(values.length > 0 ? percentile(values, 99) : NaN),
                max: ms(s.max),
                'seen / sent': `${values.length} / ${perKind}`,
              },
            };
          });
          const totalLost = lost.set + lost.remove;
          return {
            id: 'backplane',
            title,
            workload,
            metric: propagationMetric,
            rows,
            columns: ['p50', 'p99', 'max', 'seen / sent'],
            targets: [
              bound(
                'every invalidation reaches the other process (none lost within 2 s)',
                totalLost,
                0,
                'max',
                `${times.set.length + times.remove.length} of ${2 * perKind} seen, ${totalLost} lost`,
              ),
            ],
            notes: [
              `Measured from just before \`scope.set(key)\` / \`scope.remove(key)\` is called here to the moment the other process sees the key gone from its L1. That includes our write to Redis (the ordered write script, or the tombstone a remove leaves), which comes first, then the PUBLISH, its delivery, and the other cache dropping the key. Median column = p50.`,
              `How the other process sees the drop: event-driven, not polled. A listener on its backplane's subscriber connection, added after the cache's own, checks right after each message whether the scope still holds the key (the cache drops it synchronously in its handler). A 1 ms poll backs it up; detections: ${[...via].map(([k, v]) => `${v} by ${k}`).join(', ') || 'none'}. The cache has no event for an L1 entry dropped by the backplane, hence the subscriber listener.`,
              `Clock: both processes stamp with \`performance.timeOrigin + performance.now()\` (sub-millisecond). Their offset, estimated from ${30} request/reply exchanges over IPC, was ${(offset * 1000).toFixed(0)} µs (± ${((bestRtt / 2) * 1000).toFixed(0)} µs), within the resolution that matters here; the times are not corrected for it.`,
              `Before each invalidation the other process writes the key itself (\`scope.set\`, so it is in its L1), then replies; the kinds (set, remove, raw) rotate order each round; ${warmup} warm-up rounds are discarded; garbage is collected every 50 rounds outside the timed part. The raw reference is a PUBLISH on a plain ioredis client received by a plain subscriber in the other process: the transport alone.`,
              'Each cell is one run: p50/p99/max over the invalidations, not a median of interleaved rounds.',
            ],
          } satisfies ScenarioResult;
        } finally {
          await worker?.close();
          await cache.close();
          await Promise.all([bus.close(), store.close()]);
          await closeQuietly(publisher);
        }
      },
      (reason) => skippedResult('backplane', title, workload, propagationMetric, ['every invalidation reaches the other process'], reason),
    );
  },
};
