/**
 * Auto-recovery on a real Redis this file starts for itself (never the shared one), killed and restarted:
 * the circuit breakers close on the clients' reconnection (not at their half-open timer, set to 10 s here
 * so that it cannot be what closes them), and a write made during the outage reaches Redis and the other
 * processes once Redis is back. Two `Cache` instances, each with its own connections, stand for two
 * processes. Real timers; every wait is bounded.
 */
import { Redis } from 'ioredis';
import { Cache } from '@toolkit/cache';
import type { CacheEventMap } from '@toolkit/cache';
import { RedisBackplane, RedisStore } from '@toolkit/cache-redis';
import { closeClient, privateRedisPerTest, within } from '../redisServers';

const TIMEOUT_MS = 200;
/** Far longer than any wait below: a breaker that closes in time was closed by the reconnection. */
const HALF_OPEN_AFTER_MS = 10_000;
const guard = { timeoutMs: TIMEOUT_MS, breaker: { consecutiveFailures: 2, halfOpenAfter: HALF_OPEN_AFTER_MS } };
const PREFIX = 'recovery';

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Polls `condition` every 10 ms; resolves to the ms it took, rejects after `ms`. */
async function eventually(condition: () => Promise<boolean> | boolean, ms: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > ms) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(10);
  }
  return Date.now() - started;
}

function rawClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000, commandTimeout: 1_000 });
  client.on('error', () => undefined);
  return client;
}

const redis = privateRedisPerTest();
const closers = redis.closers;

async function processOn(url: string) {
  const store = RedisStore.connect(url, { prefix: PREFIX, ...guard });
  const backplane = RedisBackplane.connect(url, { prefix: PREFIX, ...guard });
  const errors: Array<CacheEventMap['CACHE_L2_ERROR']> = [];
  const cache = new Cache({ prefix: PREFIX, ttl: 60_000, store, backplane, onEvent: (e) => e.type === 'CACHE_L2_ERROR' && errors.push(e) });
  closers.push(async () => {
    await cache.close();
    await Promise.all([store.close(), backplane.close()]);
  });
  await within(cache.ready, 5_000, 'subscribing');
  await within(store.ping(), 5_000, 'PING');
  return { store, backplane, cache, errors, items: cache.scope<string>('items') };
}

/** Resolves at the client's next 'ready' (its reconnection), with the time it happened. */
const nextReady = (client: Redis | import('ioredis').Cluster) => new Promise<number>((resolve) => client.once('ready', () => resolve(Date.now())));

describe('auto-recovery (a private redis-server per test, killed and restarted)', () => {
  it('the store and backplane breakers close within 1 s of the reconnection, not at their 10 s half-open timer', async () => {
    const s = redis.server;
    const a = await processOn(s.url);
    await s.kill();
    // Failures open both breakers (a scope's clear() deletes its L2 entries and publishes a message).
    for (let i = 0; i < 4; i++) {
      await a.items.set(`down:${i}`, 'x');
      await a.items.clear();
    }
    expect(a.store.breakerState).toBe('open');
    expect(a.backplane.breakerState).toBe('open');

    const storeReady = nextReady(a.store.client);
    const publisherReady = nextReady(a.backplane.publisher);
    await s.restart();
    const restartedAt = Date.now();
    const [storeAt, publisherAt] = await within(Promise.all([storeReady, publisherReady]), 5_000, 'reconnecting');
    const storeClosedIn = await eventually(() => a.store.breakerState === 'closed', 1_000, 'the store breaker closing');
    const backplaneClosedIn = await eventually(() => a.backplane.breakerState === 'closed', 1_000, 'the backplane breaker closing');
    expect(Date.now() - restartedAt).toBeLessThan(HALF_OPEN_AFTER_MS / 2);
    // Measured from each client's 'ready': the PING probe's round trip, a few ms.
    expect(storeAt - restartedAt + storeClosedIn).toBeLessThan(4_000);
    expect(publisherAt - restartedAt + backplaneClosedIn).toBeLessThan(4_000);
  });

  it('stopped with SIGSTOP (its connections stay, no reconnection): the probe closes the breaker within ~1 s of SIGCONT, and the write made meanwhile reaches the other process', async () => {
    const s = redis.server;
    const writer = await processOn(s.url);
    const reader = await processOn(s.url);
    await writer.items.set('k', 'v1');
    await sleep(100);
    expect(await within(reader.items.get('k'), 2_000, 'get')).toBe('v1');

    const pid = s.pid;
    process.kill(pid, 'SIGSTOP');
    closers.push(() => {
      if (s.running) process.kill(pid, 'SIGCONT'); // in case the test stops half-way
    });
    await within(writer.items.set('k', 'v2'), 2_000, 'set while stopped');
    await writer.items.get('other'); // a second failure: the breaker opens
    expect(writer.store.breakerState).toBe('open');
    expect(reader.items.getSync('k')).toBe('v1');

    process.kill(pid, 'SIGCONT');
    const closedIn = await eventually(() => writer.store.breakerState === 'closed', 2_500, 'the store breaker closing');
    const seenIn = await eventually(() => reader.items.getSync('k') === undefined, 2_500, 'the reader dropping v1');
    expect(await reader.items.get('k')).toBe('v2');
    expect(closedIn).toBeLessThan(2_000); // the probe runs every second; the half-open timer would be 10 s
    expect(seenIn).toBeLessThan(2_500);
  });

  it('a write made while Redis was down reaches Redis after the restart, and the other process serves it', async () => {
    const s = redis.server;
    const writer = await processOn(s.url);
    const reader = await processOn(s.url);
    await writer.items.set('k', 'v1');
    await sleep(100); // the writer's message about v1 reaches the reader before it reads
    expect(await within(reader.items.get('k'), 2_000, 'get')).toBe('v1'); // the reader's L1 holds v1

    await s.kill();
    await within(writer.items.set('k', 'v2'), 2_000, 'set during the outage'); // resolves: kept for replay
    expect(writer.errors.map((e) => e.operation)).toContain('set');
    expect(reader.items.getSync('k')).toBe('v1'); // nobody was told of a write Redis does not have

    await s.restart(); // an empty Redis: no persistence
    const raw = rawClient(s.url);
    closers.push(() => closeClient(raw));
    const landedIn = await eventually(
      async () => (await raw.get(writer.store.entryKey('items:k')).catch(() => null))?.includes('"v2"') === true,
      5_000,
      'the replayed write landing in Redis',
    );
    // The reader no longer serves v1 (its resubscription emptied its L1, and the replay told it) and reads v2.
    const seenIn = await eventually(async () => (await reader.items.get('k')) === 'v2', 2_000, 'the reader serving v2');
    expect(landedIn).toBeLessThan(5_000);
    expect(seenIn).toBeLessThan(1_000);
    expect(reader.errors.filter((e) => e.at > Date.now() - seenIn)).toEqual([]);
  });
});
