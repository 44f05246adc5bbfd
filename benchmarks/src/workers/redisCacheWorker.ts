/**
 * A child process of the Redis scenarios (`backplane`, `distributed-stampede`): one Cache on the private
 * Redis of the parent, driven over IPC (see harness/childWorker.ts). Exits when the parent goes away.
 *
 * Environment: `BENCH_REDIS_URL` (the private server), `BENCH_ROLE`:
 * - `backplane`: a Cache built by hand (RedisStore + RedisBackplane, as the cache-redis README shows) and a
 *   raw ioredis subscriber. After `hold`, the worker watches a key it holds in L1 and sends
 *   `{ type: 'dropped', key, at }` when the key has left L1; after `watchRaw`, it sends `{ type: 'raw', at }`
 *   when the raw channel delivers the token. `at` is `performance.timeOrigin + performance.now()`.
 *   How the drop is seen: a listener on the backplane's subscriber connection, added after the cache's own
 *   (so it runs right after the cache handled each message, in the same emit), checks whether the scope
 *   still holds the key. A 1 ms poll backs it up, so a drop made some other way would still be seen
 *   (reported as `via: 'poll'`).
 * - `stampede`: `createCache(env)` (store, backplane and lock, as the README's quick start); `stampede`
 *   runs `callers` concurrent `getOrSet` per key on every key at once, with a factory that counts its
 *   calls and takes `factoryMs`, and answers the counts, the values seen and its start and end times.
 */
import { Redis } from 'ioredis';
import { Cache } from '@toolkit/cache';
import type { CacheScope } from '@toolkit/cache';
import { RedisBackplane, RedisStore, createCache } from '@toolkit/cache-redis';

const MAX_LIFE_MS = 120_000;
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Request =
  | { cmd: 'clock' }
  | { cmd: 'hold'; key: string }
  | { cmd: 'watchRaw'; token: string }
  | { cmd: 'stampede'; keys: string[]; callers: number; factoryMs: number; lock: boolean; lockTimeoutMs: number; startAt: number }
  | { cmd: 'close' };

interface Role {
  answer(request: Request): Promise<unknown>;
  close(): Promise<void>;
}

async function backplaneRole(url: string, send: (message: object) => void): Promise<Role> {
  const namespace = { prefix: process.env.BENCH_PREFIX ?? 'bench', version: 'v1' };
  const store = RedisStore.connect(url, namespace);
  const backplane = RedisBackplane.connect(url, namespace);
  const cache = new Cache({ ttl: '1h', store, backplane, ...namespace });
  await cache.ready;
  const scope = cache.scope<{ v: number }>('bp', { maxSize: 1_000 });
  const rawSubscriber = new Redis(url, { connectionName: 'bench-raw-sub' });
  rawSubscriber.on('error', () => undefined);
  await rawSubscriber.subscribe('bench:raw-bus');

  let watched: string | undefined;
  let rawToken: string | undefined;
  const check = (via: string) => {
    if (watched === undefined || scope.keys().includes(watched)) return;
    const at = now();
    const key = watched;
    watched = undefined;
    send({ type: 'dropped', key, at, via });
  };
  // Registered after the cache subscribed: runs after the cache's own listener for the same message.
  backplane.subscriber.on('message', () => check('message'));
  const poll = setInterval(() => check('poll'), 1);
  rawSubscriber.on('message', (_channel: string, token: string) => {
    if (token !== rawToken) return;
    const at = now();
    rawToken = undefined;
    send({ type: 'raw', token, at });
  });

  return {
    async answer(request) {
      switch (request.cmd) {
        case 'clock':
          return now();
        case 'hold':
          // Written here (L1 + Redis): this process holds the value in L1 until a message drops it.
          await scope.set(request.key, { v: 1 });
          if (!scope.keys().includes(request.key)) throw new Error(`${request.key} is not in L1 after set`);
          watched = request.key;
          return true;
        case 'watchRaw':
          rawToken = request.token;
          return true;
        default:
          throw new Error(`the backplane worker does not do ${request.cmd}`);
      }
    },
    async close() {
      clearInterval(poll);
      await cache.close();
      await Promise.all([backplane.close(), store.close()]);
      await rawSubscriber.quit().catch(() => undefined);
      if (rawSubscriber.status !== 'end') rawSubscriber.disconnect();
    },
  };
}

async function stampedeRole(url: string): Promise<Role> {
  const handle = createCache({ CACHE_URL: url, CACHE_PREFIX: process.env.BENCH_PREFIX ?? 'bench', CACHE_VERSION: 'v1', CACHE_TTL_DEFAULT: '10m' });
  await handle.cache.ready;
  await handle.ping();
  const scope: CacheScope<string> = handle.cache.scope<string>('ds', { maxSize: 10_000 });
  const name = `${process.pid}`;

  return {
    async answer(request) {
      if (request.cmd !== 'stampede') throw new Error(`the stampede worker does not do ${request.cmd}`);
      let factoryCalls = 0;
      const factory = (key: string) => async () => {
        factoryCalls++;
        await sleep(request.factoryMs);
        return `${key}@${name}`;
      };
      const options = { distributedLock: request.lock, lockTimeout: request.lockTimeoutMs };
      const wait = request.startAt - now();
      if (wait > 0) await sleep(wait);
      const startedAt = now();
      const perKey = await Promise.all(
        request.keys.map(async (key) => {
          const load = factory(key);
          const settled = await Promise.allSettled(Array.from({ length: request.callers }, () => scope.getOrSet(key, load, options)));
          const values = new Set<string>();
          let errors = 0;
          for (const s of settled) {
            if (s.status === 'fulfilled') values.add(s.value);
            else errors++;
          }
          return { key, values: [...values], errors };
        }),
      );
      const endedAt = now();
      return { startedAt, endedAt, factoryCalls, perKey };
    },
    close: () => handle.close(),
  };
}

async function main(): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined) {
    console.error('redisCacheWorker.ts must be started with child_process.fork (it talks over IPC)');
    process.exit(2);
  }
  setTimeout(() => process.exit(3), MAX_LIFE_MS).unref();
  process.on('disconnect', () => process.exit(0));
  const url = process.env.BENCH_REDIS_URL;
  if (url === undefined || !url.startsWith('redis://127.0.0.1:')) {
    console.error(`BENCH_REDIS_URL must name a private loopback server, got ${url}`);
    process.exit(2);
  }
  const role = process.env.BENCH_ROLE === 'backplane' ? await backplaneRole(url, (m) => send(m)) : await stampedeRole(url);

  process.on('message', (message: { id: number; request: Request }) => {
    const { id, request } = message;
    const run = request.cmd === 'close' ? role.close() : role.answer(request);
    run.then(
      (result) =>
        send({ type: 'reply', id, ok: true, result }, () => {
          if (request.cmd === 'close') process.exit(0);
        }),
      (error: unknown) => send({ type: 'reply', id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
  send({ type: 'ready', pid: process.pid });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(4);
});
