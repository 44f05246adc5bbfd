/**
 * A master of a real Redis Cluster (3 masters + 3 replicas on loopback, started here) is killed and its
 * replica takes over: the store's per-node breakers keep the healthy masters' keys in L2 meanwhile, and the
 * dead master's keys come back on the promoted replica. Bounded: the cluster starts in ~7 s, each failover
 * takes ~3.5 s; every server is stopped by pid after the file, never the shared Redis.
 */
import calculateSlot from 'cluster-key-slot';
import type { StoredEntry } from '@toolkit/cache';
import { RedisStore } from '@toolkit/cache-redis';
import type { Cluster } from 'ioredis';
import { killAllTrackedRedisServers, startRedisCluster, trackedRedisPids } from '../redisServers';
import type { RedisClusterHandle, RedisServerHandle } from '../redisServers';

jest.setTimeout(60_000);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function entry(value: unknown): StoredEntry {
  const now = Date.now();
  return { value, freshUntil: now + 600_000, staleUntil: now + 600_000, tags: [] };
}

let cluster: RedisClusterHandle;
const closers: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  // Without full coverage the healthy masters keep serving their slots while a master is down (the default,
  // `yes`, makes every node refuse every key until the failover is over: no client can help that).
  cluster = await startRedisCluster({ replicas: 1, args: ['--cluster-require-full-coverage', 'no'] });
}, 40_000);

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await cluster?.stop();
  await killAllTrackedRedisServers();
  expect(trackedRedisPids()).toEqual([]);
});

const clusterUrl = () => `redis://${cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(',')}`;

/** The master that owns `redisKey`'s slot, by the client's slot map. */
const ownerOf = (client: Cluster, redisKey: string) => client.slots[calculateSlot(redisKey)]?.[0];

/** Every server of the cluster (masters and replicas as they are now) by `"host:port"`. */
const serverAt = (node: string): RedisServerHandle | undefined =>
  [...cluster.servers, ...cluster.replicas].find((server) => `${server.host}:${server.port}` === node);

describe('RedisStore on a Redis Cluster whose master is killed', () => {
  it("opens only the dead master's breaker: the other masters' keys keep answering from L2, and the dead one's come back after the failover", async () => {
    const store = RedisStore.connect(clusterUrl(), { prefix: 'failover', timeoutMs: 300, breaker: { consecutiveFailures: 3 } });
    closers.push(() => store.close());
    const client = store.client as Cluster;
    const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
    await store.setMany(keys.map((key, i) => [key, entry(i)] as const));
    // Replicated before the kill: each master waits for its replica.
    await Promise.all(client.nodes('master').map((node) => node.call('WAIT', '1', '2000')));

    const owners = new Map(keys.map((key) => [key, ownerOf(client, store.entryKey(key)) as string]));
    const victim = owners.get('k0') as string;
    const doomed = keys.filter((key) => owners.get(key) === victim);
    const healthy = keys.filter((key) => owners.get(key) !== victim);
    expect(doomed.length).toBeGreaterThan(0);
    expect(new Set(healthy.map((key) => owners.get(key))).size).toBe(2);

    await serverAt(victim)!.kill();
    const killedAt = Date.now();

    // Until the failover: every read of the healthy keys answers every value; the dead master's keys fail.
    let healthyReads = 0;
    let doomedFailures = 0;
    let recoveredAt: number | undefined;
    while (recoveredAt === undefined && Date.now() - killedAt < 15_000) {
      // One read per doomed key (as many callers would), then the healthy keys: on one breaker for the whole
      // Cluster, the doomed reads' failures in a row would open it for every key.
      const bad = await Promise.all(doomed.map((key) => store.getMany([key]).then(([found]) => found, (error: Error) => error)));
      const good = await store.getMany(healthy);
      expect(good.map((found) => (found as StoredEntry | undefined)?.value)).toEqual(healthy.map((key) => Number(key.slice(1))));
      healthyReads++;
      if (bad.some((found) => found instanceof Error || found === undefined)) {
        doomedFailures++;
        if (doomedFailures === 5) {
          // The dead master's breaker is open, and it is the only one.
          const states = store.nodeBreakerStates;
          expect(states[victim]).toBe('open');
          expect(Object.entries(states).filter(([node, state]) => node !== victim && state !== 'closed')).toEqual([]);
        }
      } else {
        recoveredAt = Date.now();
        expect(bad.map((found) => (found as StoredEntry).value)).toEqual(doomed.map((key) => Number(key.slice(1))));
      }
      await sleep(50);
    }
    expect(doomedFailures).toBeGreaterThanOrEqual(5);
    expect(healthyReads).toBeGreaterThan(doomedFailures);
    expect(recoveredAt).toBeDefined();
    // The dead master's slots have a new owner: its replica.
    const promoted = ownerOf(client, store.entryKey(doomed[0] as string));
    expect(promoted).not.toBe(victim);
    expect(store.nodeBreakerStates[promoted as string]).toBe('closed');
    expect(store.nodeBreakerStates[victim]).toBeUndefined();

    // Back as a replica of the promoted node, for the next test.
    await serverAt(victim)!.restart();
  });
});
