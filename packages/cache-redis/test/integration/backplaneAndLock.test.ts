/**
 * RedisBackplane and RedisLock against real servers: messages between two backplanes (and between two
 * Cache instances, each ignoring its own), reconnection after a restart of a server this file starts,
 * and the lock's exclusivity, expiry and release by token.
 */
import { Redis } from 'ioredis';
import { Cache } from '@toolkit/cache';
import type { BackplaneMessage } from '@toolkit/cache';
import { RedisBackplane, RedisLock, RedisStore } from '@toolkit/cache-redis';
import { closeClient, startRedisServer } from '../redisServers';
import type { RedisServerHandle } from '../redisServers';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from '../sharedRedis';

/** `uniquePrefix` has ':' in it, which a namespace prefix may not: the same name with '.' instead. */
function namespacePrefix(name: string): string {
  return uniquePrefix(name).replaceAll(':', '.');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 20 ms until it holds; fails after `ms`. */
async function eventually(condition: () => boolean | Promise<boolean>, ms = 5_000, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await sleep(20);
  }
}

/** Every backplane / store / client a test makes, closed after it whatever happens. */
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function backplane(url: string, prefix: string, onError?: (error: unknown) => void): RedisBackplane {
  const made = RedisBackplane.connect(url, { prefix, ...(onError === undefined ? {} : { onError }) });
  closers.push(() => made.close());
  return made;
}

describe('RedisBackplane on the shared Redis', () => {
  it('carries messages between two backplanes of one namespace, and not to another namespace', async () => {
    const prefix = namespacePrefix('backplane');
    const a = backplane(testRedisUrl(), prefix);
    const b = backplane(testRedisUrl(), prefix);
    const elsewhere = backplane(testRedisUrl(), namespacePrefix('elsewhere'));
    expect(a.channel).toBe(`${prefix}:v1:bus`);
    const toA: BackplaneMessage[] = [];
    const toB: BackplaneMessage[] = [];
    const toElsewhere: BackplaneMessage[] = [];
    const noReconnect = jest.fn();
    await a.subscribe((m) => toA.push(m), noReconnect);
    await b.subscribe((m) => toB.push(m), noReconnect);
    await elsewhere.subscribe((m) => toElsewhere.push(m), noReconnect);

    const fromA: BackplaneMessage = { type: 'keys', source: 'process-a', keys: ['user:1', 'user:2'] };
    const fromB: BackplaneMessage = { type: 'tags', source: 'process-b', tags: ['user:1'] };
    await a.publish(fromA);
    await b.publish(fromB);
    await eventually(() => toA.length === 2 && toB.length === 2, 5_000, 'delivery');
    expect(toB).toEqual([fromA, fromB]);
    expect(toA).toEqual([fromA, fromB]); // its own too: Cache skips those by `source`
    await sleep(50);
    expect(toElsewhere).toEqual([]);
    expect(noReconnect).not.toHaveBeenCalled();
  });

  it('ignores malformed messages (reporting them to onError) and keeps delivering', async () => {
    const prefix = namespacePrefix('malformed');
    const errors: unknown[] = [];
    const listener = backplane(testRedisUrl(), prefix, (error) => errors.push(error));
    const received: BackplaneMessage[] = [];
    await listener.subscribe((m) => received.push(m), () => undefined);

    const raw = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    closers.push(() => closeClient(raw));
    for (const junk of ['not json', '42', 'null', '{"type":"keys","source":"x"}', '{"type":"nuke","source":"x"}', '{"type":"tags","source":1,"tags":[]}']) {
      await raw.publish(listener.channel, junk);
    }
    const good: BackplaneMessage = { type: 'prefix', source: 'p', prefix: 'user:' };
    await raw.publish(listener.channel, JSON.stringify(good));
    await eventually(() => received.length === 1, 5_000, 'the good message');
    expect(received).toEqual([good]);
    expect(errors).toHaveLength(6);
  });

  it('a listener that throws does not break delivery', async () => {
    const prefix = namespacePrefix('throwing');
    const errors: unknown[] = [];
    const listener = backplane(testRedisUrl(), prefix, (error) => errors.push(error));
    let calls = 0;
    await listener.subscribe(() => {
      calls++;
      throw new Error('listener bug');
    }, () => undefined);
    const sender = backplane(testRedisUrl(), prefix);
    await sender.publish({ type: 'scope', source: 's', scope: 'users' });
    await sender.publish({ type: 'scope', source: 's', scope: 'users' });
    await eventually(() => calls === 2, 5_000, 'two deliveries');
    expect(errors).toHaveLength(2);
  });

  it('stops delivering after unsubscribe()', async () => {
    const prefix = namespacePrefix('unsubscribe');
    const listener = backplane(testRedisUrl(), prefix);
    const sender = backplane(testRedisUrl(), prefix);
    const received: BackplaneMessage[] = [];
    await listener.subscribe((m) => received.push(m), () => undefined);
    await sender.publish({ type: 'keys', source: 's', keys: ['a'] });
    await eventually(() => received.length === 1);
    await listener.unsubscribe();
    await sender.publish({ type: 'keys', source: 's', keys: ['b'] });
    await sleep(100);
    expect(received).toHaveLength(1);
  });

  it('two Cache instances: a write in one drops the other L1 copy, and each ignores its own messages', async () => {
    const prefix = namespacePrefix('two-caches');
    closers.push(() => cleanupPrefix(testRedisUrl(), prefix).then(() => undefined));
    const store = RedisStore.connect(testRedisUrl(), { prefix });
    closers.push(() => store.close());
    const busA = backplane(testRedisUrl(), prefix);
    const busB = backplane(testRedisUrl(), prefix);
    const cacheA = new Cache({ ttl: '1m', store, backplane: busA, prefix });
    const cacheB = new Cache({ ttl: '1m', store, backplane: busB, prefix });
    closers.push(() => cacheB.close());
    closers.push(() => cacheA.close());
    await Promise.all([cacheA.ready, cacheB.ready]);
    const usersA = cacheA.scope<string>('users');
    const usersB = cacheB.scope<string>('users');

    // Every message each subscriber receives, seen after the backplane's own handler (registered first).
    const seenByA: BackplaneMessage[] = [];
    const seenByB: BackplaneMessage[] = [];
    busA.subscriber.on('message', (_channel: string, text: string) => seenByA.push(JSON.parse(text) as BackplaneMessage));
    busB.subscriber.on('message', (_channel: string, text: string) => seenByB.push(JSON.parse(text) as BackplaneMessage));
    const fromA = (seen: BackplaneMessage[]) => seen.filter((m) => m.source === cacheA.id).length;

    await usersA.set('u1', 'v1');
    // A's message is in flight: once B has it, B's L1 can be filled without the message dropping it after.
    await eventually(() => fromA(seenByB) === 1, 5_000, "B receiving A's first message");
    expect(await usersB.get('u1')).toBe('v1'); // from the L2, now in B's L1
    expect(usersB.getSync('u1')).toBe('v1');

    await usersA.set('u1', 'v2');
    await eventually(() => usersB.getSync('u1') === undefined, 5_000, 'B dropping its L1 copy');
    expect(await usersB.get('u1')).toBe('v2');
    // A received its own 'keys' messages and kept its L1 copy.
    await eventually(() => fromA(seenByA) === 2, 5_000, 'A receiving its own messages');
    expect(usersA.getSync('u1')).toBe('v2');

    // Tags cross processes as well.
    await usersB.set('u2', 'tagged', { tags: ['user:2'] });
    await eventually(() => seenByA.some((m) => m.type === 'keys' && m.keys.includes('users:u2')), 5_000, "A receiving B's write");
    expect(await usersA.get('u2')).toBe('tagged');
    await cacheB.invalidateTags(['user:2']);
    await eventually(() => usersA.getSync('u2') === undefined, 5_000, 'A dropping the tagged entry');
    expect(await usersA.get('u2')).toBeUndefined(); // invalidated in the L2 too
  });
});

describe('RedisBackplane across a restart of its Redis (a private server)', () => {
  let server: RedisServerHandle | undefined;
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await server?.stop();
    server = undefined;
  });

  it('calls onReconnect after the connection came back (not on the first connect), then delivers again', async () => {
    server = await startRedisServer();
    const listener = backplane(server.url, 'restart');
    const sender = backplane(server.url, 'restart');
    const received: BackplaneMessage[] = [];
    const onReconnect = jest.fn();
    await listener.subscribe((m) => received.push(m), onReconnect);
    await sender.publish({ type: 'keys', source: 's', keys: ['before'] });
    await eventually(() => received.length === 1);
    expect(onReconnect).not.toHaveBeenCalled();

    await server.kill();
    await sleep(200);
    expect(onReconnect).not.toHaveBeenCalled();
    await server.restart();
    await eventually(() => onReconnect.mock.calls.length > 0, 10_000, 'onReconnect');
    expect(onReconnect).toHaveBeenCalledTimes(1);

    // Subscribed again by the time onReconnect ran: the next message arrives (the sender may need a moment to reconnect).
    const after: BackplaneMessage = { type: 'keys', source: 's', keys: ['after'] };
    await eventually(async () => (await sender.publish(after).then(() => true, () => false)), 10_000, 'the sender reconnecting');
    await eventually(() => received.some((m) => m.type === 'keys' && m.keys[0] === 'after'), 5_000, 'delivery after the restart');
  });
});

describe('RedisLock on the shared Redis', () => {
  let client: Redis;
  let prefix: string;
  let lock: RedisLock;
  beforeAll(() => {
    client = new Redis(testRedisUrl(), { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
  });
  beforeEach(() => {
    prefix = namespacePrefix('lock');
    lock = new RedisLock({ client, prefix });
  });
  afterEach(async () => {
    await cleanupPrefix(testRedisUrl(), prefix);
  });
  afterAll(() => closeClient(client));

  it('has one holder at a time under 20 concurrent tryAcquire, keyed prefix:version:l:key', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => lock.tryAcquire('job', 5_000)));
    const holders = results.filter((r) => r !== undefined);
    expect(holders).toHaveLength(1);
    expect(lock.lockKey('job')).toBe(`${prefix}:v1:l:job`);
    const pttl = await client.pttl(`${prefix}:v1:l:job`);
    expect(pttl).toBeGreaterThan(4_000);
    await holders[0]!();
    expect(await client.exists(`${prefix}:v1:l:job`)).toBe(0);
    expect(await lock.tryAcquire('job', 5_000)).toBeInstanceOf(Function);
  });

  it('frees itself after its ttl (a crashed holder)', async () => {
    expect(await lock.tryAcquire('k', 150)).toBeInstanceOf(Function);
    expect(await lock.tryAcquire('k', 150)).toBeUndefined();
    await sleep(250);
    expect(await lock.tryAcquire('k', 150)).toBeInstanceOf(Function);
  });

  it('a late release by the expired holder does not free the next holder', async () => {
    const first = await lock.tryAcquire('k', 100);
    await sleep(200);
    const second = await lock.tryAcquire('k', 5_000);
    expect(second).toBeInstanceOf(Function);
    await first!(); // token mismatch: nothing deleted
    expect(await lock.tryAcquire('k', 5_000)).toBeUndefined();
    await second!();
    await second!(); // idempotent
    expect(await lock.tryAcquire('k', 5_000)).toBeInstanceOf(Function);
  });

  it('renew() extends only its own hold (a Lua compare-token PEXPIRE), never an expired one nor the next holder\'s', async () => {
    // Margins of 400 ms either side: the machine may be busy.
    const key = `${prefix}:v1:l:k`;
    const first = await lock.tryAcquire('k', 1_000);
    await sleep(600);
    expect(await first!.renew!(1_000)).toBe(true);
    const pttl = await client.pttl(key);
    expect(pttl).toBeGreaterThan(600); // back to ~1 s from now, not the ~400 ms left
    expect(pttl).toBeLessThanOrEqual(1_000);
    await sleep(600); // 1.2 s after it was taken: alive only thanks to the renewal
    expect(await lock.tryAcquire('k', 1_000)).toBeUndefined();
    await sleep(1_000); // no renewal since: expired
    expect(await first!.renew!(5_000)).toBe(false);
    expect(await client.exists(key)).toBe(0); // did not come back
    const second = await lock.tryAcquire('k', 5_000);
    expect(await first!.renew!(60_000)).toBe(false);
    expect(await client.pttl(key)).toBeLessThanOrEqual(5_000); // the next holder's expiry untouched
    await second!();
    expect(await second!.renew!(5_000)).toBe(false); // released: nothing to renew
    await expect(second!.renew!(0)).rejects.toThrow(RangeError);
  });

  it('a Cache holding the lock renews it while a factory slower than lockTimeout runs: the other instance waits', async () => {
    const store = new RedisStore({ client, prefix });
    const make = () => new Cache({ ttl: '1m', store, lock, distributedLock: true, lockTimeout: 600, lockWaitTimeout: '10s' });
    const caches = [make(), make()];
    let runs = 0;
    const build = async () => {
      runs++;
      await sleep(2_000); // more than three lock lifetimes
      return 'report 1';
    };
    const first = caches[0]!.scope<string>('reports').getOrSet('report:1', build);
    await sleep(50);
    const second = caches[1]!.scope<string>('reports').getOrSet('report:1', build);
    await sleep(1_100);
    expect(await client.pttl(lock.lockKey('reports:report:1'))).toBeGreaterThan(0); // still held past its TTL: renewed
    expect(await Promise.all([first, second])).toEqual(['report 1', 'report 1']);
    expect(runs).toBe(1);
    expect(await client.exists(lock.lockKey('reports:report:1'))).toBe(0); // released
    await Promise.all(caches.map((cache) => cache.close()));
  });

  it('rejects a ttl that is not a positive finite number', async () => {
    await expect(lock.tryAcquire('k', 0)).rejects.toThrow(RangeError);
    await expect(lock.tryAcquire('k', Infinity)).rejects.toThrow('`ttlMs`');
  });

  it('gives two Cache instances one factory run for a cold key (distributed single-flight)', async () => {
    const store = new RedisStore({ client, prefix });
    const make = () => new Cache({ ttl: '1m', store, lock, distributedLock: true, lockTimeout: '5s' });
    const caches = [make(), make()];
    let runs = 0;
    const loaders = caches.map((cache) =>
      cache.cached(
        async (id: number) => {
          runs++;
          await sleep(100);
          return `product ${id}`;
        },
        { name: 'product' },
      ),
    );
    const answers = await Promise.all(loaders.flatMap((load) => [load(7), load(7), load(7)]));
    expect(answers).toEqual(Array(6).fill('product 7'));
    expect(runs).toBe(1);
    await Promise.all(caches.map((cache) => cache.close()));
  });
});
