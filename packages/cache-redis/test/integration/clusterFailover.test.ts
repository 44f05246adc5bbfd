/**
 * A master of a real Redis Cluster (3 masters + 3 replicas on loopback, started here) is killed and its
 * replica takes over: the store's per-node breakers keep the healthy masters' keys in L2 meanwhile, and the
 * dead master's keys come back on the promoted replica. Bounded: the cluster starts in ~7 s, each failover
 * takes ~3.5 s; every server is stopped by pid after the file, never the shared Redis.
 */
import calculateSlot from 'cluster-key-slot';
import { Cache } from '@toolkit/cache';
import type { StoredEntry } from '@toolkit/cache';
import { RedisBackplane, RedisStore } from '@toolkit/cache-redis';
import { Redis } from 'ioredis';
import type { Cluster } from 'ioredis';
import { closeClient, killAllTrackedRedisServers, startRedisCluster, trackedRedisPids } from '../redisServers';
import type { RedisClusterHandle, RedisServerHandle } from '../redisServers';

jest.setTimeout(60_000);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 25 ms until it holds; fails after `ms`. */
async function eventually(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await sleep(25);
  }
}

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

/** Resolves once `server` is a replica whose link to its master is up (it can take over then). */
async function replicaSynced(server: RedisServerHandle): Promise<void> {
  const probe = new Redis({ host: server.host, port: server.port, maxRetriesPerRequest: 1, lazyConnect: true });
  probe.on('error', () => undefined);
  try {
    await eventually(async () => /master_link_status:up/.test(await probe.info('replication').catch(() => '')), 15_000, `${server.url} syncing as a replica`);
  } finally {
    closeClient(probe);
  }
}

/** Every server of the cluster (masters and replicas as they are now) by `"host:port"`. */
const serverAt = (node: string): RedisServerHandle | undefined =>
  [...cluster.servers, ...cluster.replicas].find((server) => `${server.host}:${server.port}` === node);

describe('RedisStore on a Redis Cluster whose master is killed', () => {
  it("opens only the dead master's breaker: the other masters' keys keep answering from L2, and the dead one's come back after the failover", async () => {
    const store = RedisStore.connect(clusterUrl(), { prefix: 'failover', timeoutMs: 300, breaker: { consecutiveFailures: 3 } });
    closers.push(() => store.close());
    const client = store.client as Cluster;
    // The entries a Cache's scope 's' reads: written under its full keys.
    const namer = new Cache({ store });
    const keys = Array.from({ length: 60 }, (_, i) => namer.scope('s').fullKey(`k${i}`));
    await namer.close();
    const valueOf = (key: string) => Number(key.slice(key.lastIndexOf('k') + 1));
    // Connected (slot map loaded) before the first write, which the 300 ms timeout would otherwise cut short.
    await eventually(() => store.ping().then(() => true, () => false), 10_000, 'the store connecting');
    await store.setMany(keys.map((key) => [key, entry(valueOf(key))] as const));
    // Replicated before the kill: each master waits for its replica.
    await Promise.all(client.nodes('master').map((node) => node.call('WAIT', '1', '2000')));

    const owners = new Map(keys.map((key) => [key, ownerOf(client, store.entryKey(key)) as string]));
    const victim = owners.get(keys[0] as string) as string;
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
      expect(good.map((found) => (found as StoredEntry | undefined)?.value)).toEqual(healthy.map(valueOf));
      // And as a cache sees it: a process with an empty L1 gets every healthy key from the L2, no L2 error.
      const reader = new Cache({ store, ttl: '10m' });
      const scope = reader.scope<number>('s');
      const local = healthy.map((key) => key.slice(key.lastIndexOf('k')));
      expect(await Promise.all(local.map((key) => scope.get(key)))).toEqual(healthy.map(valueOf));
      // (Its unscoped count has the dead node's connection errors: reported, as they should be, once per process.)
      expect(reader.stats().scopes.s).toMatchObject({ l2Hits: healthy.length, l2Errors: 0 });
      await reader.close();
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
        expect(bad.map((found) => (found as StoredEntry).value)).toEqual(doomed.map(valueOf));
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
    await replicaSynced(serverAt(victim)!);
  });
});

describe('RedisBackplane on a Redis Cluster whose subscribed node is killed', () => {
  it("resubscribes where ioredis moves the subscription, calls onReconnect, and the other process's L1 never keeps the old value", async () => {
    // A first subscription on a Cluster waits for its connection and slot map: more than the default 500 ms.
    const options = { prefix: 'moves', timeoutMs: 2_000 };
    const storeA = RedisStore.connect(clusterUrl(), options);
    const storeB = RedisStore.connect(clusterUrl(), options);
    const busA = RedisBackplane.connect(clusterUrl(), options);
    const busB = RedisBackplane.connect(clusterUrl(), options);
    // B's backplane as the Cache uses it, with a note of each onReconnect it calls.
    const reconnects: number[] = [];
    const subscribe = busB.subscribe.bind(busB);
    busB.subscribe = (onMessage, onReconnect) =>
      subscribe(onMessage, () => {
        reconnects.push(Date.now());
        onReconnect();
      });
    const a = new Cache({ ttl: '10m', store: storeA, backplane: busA });
    const b = new Cache({ ttl: '10m', store: storeB, backplane: busB });
    closers.push(async () => {
      await Promise.all([a.close(), b.close()]);
      await Promise.all([busA.close(), busB.close(), storeA.close(), storeB.close()]);
    });
    await Promise.all([a.ready, b.ready]);
    const usersA = a.scope<string>('users');
    const usersB = b.scope<string>('users');

    /** B holds `value` in its L1, after every message about it has arrived (a copy read before one is dropped). */
    const bHolds = (value: string) =>
      eventually(
        async () => {
          await usersB.get('u1');
          await sleep(50);
          return usersB.getSync('u1') === value;
        },
        5_000,
        `B holding ${value} in L1`,
      );
    await usersA.set('u1', 'v1');
    await bHolds('v1');

    // The node B's subscription lives on (ioredis keeps one subscribed connection per Cluster client).
    const subscribedNode = () => {
      const instance = (busB.subscriber as unknown as { subscriber: { getInstance(): Redis | null } }).subscriber.getInstance();
      return instance === null ? undefined : `${instance.options.host}:${instance.options.port}`;
    };
    const victim = subscribedNode() as string;
    expect(victim).toBeDefined();
    const victimServer = serverAt(victim)!;
    await victimServer.kill();
    const killedAt = Date.now();
    // Published while the subscription moves: B may never receive it.
    const during = usersA.set('u1', 'v2');

    await eventually(() => reconnects.length > 0, 10_000, 'onReconnect after the subscription moved');
    expect(subscribedNode()).not.toBe(victim);
    await during;
    // B's L1 was reconciled (or the message came through): it serves v2 from then on.
    await bHolds('v2');
    const servedV2At = Date.now();
    // Subscribed again: the next message reaches B and drops its copy.
    await usersA.set('u1', 'v3');
    await eventually(() => usersB.getSync('u1') !== 'v2', 5_000, 'the message after the move dropping B\'s copy');
    expect(await usersB.get('u1')).toBe('v3');
    expect(servedV2At - killedAt).toBeLessThan(10_000);
    await victimServer.restart();
  });
});
