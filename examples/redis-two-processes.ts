/**
 * Two processes, one Redis: a write in one process drops the other process's L1 copy (the backplane),
 * and the other reads the new value from the shared L2.
 *
 * The parent starts a second Node process (this same file, role `child`). Both build their cache with
 * `createCache()` from the same environment (CACHE_URL, CACHE_PREFIX), so they share a Redis namespace:
 *
 * 1. the child loads `greeting` (its loader runs once; the value goes to its L1 and to Redis);
 * 2. the parent reads it from Redis, then `set`s a new value (written to Redis, published on the bus);
 * 3. the child sees its L1 copy go, and its next read gets the parent's value from Redis, not its loader.
 *
 * Needs a Redis: REDIS_URL, else redis://127.0.0.1:6379. Without one it says so and exits 0.
 * The keys it writes live under a namespace of their own, removed at the end (SCAN + UNLINK).
 *
 * Run: pnpm build && pnpm exec tsx examples/redis-two-processes.ts
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { CacheEventType } from '@toolkit/cache';
import { createCache, maskCacheUrl } from '@toolkit/cache-redis';
import type { CacheHandle } from '@toolkit/cache-redis';

/** What the two processes tell each other over the IPC channel that `fork()` opens. */
type Message =
  | { step: 'cached'; value: string } // child → parent: loaded and cached
  | { step: 'written'; value: string } // parent → child: a new value was set
  | { step: 'observed'; value: string; loaderRuns: number; l2Hits: number }; // child → parent: what it saw

const KEY = 'greeting';
const SCOPE = 'greetings';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The next IPC message from `peer` (the child; or, in the child, `process`: the parent). */
function nextMessage(peer: EventEmitter, ms: number): Promise<Message> {
  const answer = new Promise<Message>((resolve, reject) => {
    const onMessage = (message: Message) => {
      peer.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => {
      peer.off('message', onMessage);
      reject(new Error(`the other process exited (code ${code}) before answering`));
    };
    peer.once('message', onMessage);
    peer.once('exit', onExit);
  });
  return within(ms, 'waiting for the other process', answer);
}

/** `message`, checked to be the expected step (and typed as such). */
function expectStep<S extends Message['step']>(message: Message, step: S): Extract<Message, { step: S }> {
  assert.equal(message.step, step);
  return message as Extract<Message, { step: S }>;
}

/** Both processes build their cache the same way, from the same environment. */
function buildCache(url: string, prefix: string): CacheHandle {
  return createCache({ CACHE_URL: url, CACHE_PREFIX: prefix }, { ttl: '1m' });
}

if (process.argv[2] === 'child') await child();
else await parent();

async function parent(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  // Letters, digits, '.', '_', '-' only: CACHE_PREFIX refuses ':' (see the package README, "Namespacing").
  const prefix = `demo-two-processes-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = (line: string) => console.log(`[parent] ${line}`);

  const handle = buildCache(url, prefix);
  // ping() goes through the store's timeout (500 ms by default) and circuit breaker.
  const answered = await within(500, 'PING', handle.ping()).then(
    () => true,
    () => false,
  );
  if (!answered) {
    console.log(
      `This demo needs Redis: nothing answered PING at ${maskCacheUrl(url)} within 500 ms. ` +
        'Start one (redis-server, or docker run --rm -p 6379:6379 redis:7) or set REDIS_URL, then run it again. Skipped.',
    );
    await handle.close();
    return;
  }

  const { cache, store } = handle;
  assert.ok(store !== undefined); // a redis:// URL: RedisStore, RedisBackplane and RedisLock
  await cache.ready; // subscribed to the backplane
  log(`Redis at ${maskCacheUrl(url)} answers; namespace ${store.namespace}, bus ${store.namespace}bus`);

  let worker: ChildProcess | undefined;
  try {
    worker = fork(fileURLToPath(import.meta.url), ['child'], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, DEMO_CACHE_URL: url, DEMO_CACHE_PREFIX: prefix },
    });
    const exited = new Promise<number | null>((resolve) => worker?.once('exit', (code) => resolve(code)));
    log(`started a second process, pid ${worker.pid}`);

    // 1. The child has loaded and cached the key.
    const cached = expectStep(await nextMessage(worker, 10_000), 'cached');

    // 2. This process has never loaded it: an L1 miss answered by Redis.
    const greetings = cache.scope<string>(SCOPE);
    assert.equal(await greetings.get(KEY), cached.value);
    assert.equal(greetings.stats().l2Hits, 1);
    log(`get('${KEY}') → "${cached.value}", from Redis (the child's write; no loader here)`);

    const next = `hello from the parent (pid ${process.pid})`;
    await greetings.set(KEY, next);
    log(`set('${KEY}', "${next}"): written to ${store.entryKey(KEY)}, published on the bus`);
    worker.send({ step: 'written', value: next } satisfies Message);

    // 3. The child saw its L1 copy dropped and read the new value from Redis.
    const observed = expectStep(await nextMessage(worker, 5_000), 'observed');
    assert.equal(observed.value, next);
    assert.equal(observed.loaderRuns, 1); // its loader ran for the first read only
    assert.equal(observed.l2Hits, 1);

    assert.equal(await within(5_000, 'the child exiting', exited), 0);
    log('the child exited with code 0');
  } finally {
    if (worker !== undefined && worker.exitCode === null && worker.signalCode === null) worker.kill();
    const removed = await removeNamespace(handle, prefix);
    log(`removed ${removed} key(s) of the namespace ${prefix}:* (SCAN + UNLINK)`);
    await handle.close();
  }
}

async function child(): Promise<void> {
  const log = (line: string) => console.log(`[child ] ${line}`);
  // If the parent goes away, so does this process.
  const orphaned = () => process.exit(1);
  process.once('disconnect', orphaned);
  const url = process.env.DEMO_CACHE_URL;
  const prefix = process.env.DEMO_CACHE_PREFIX;
  assert.ok(url !== undefined && prefix !== undefined, 'run the parent (no argument), not the child');

  const { cache, close } = buildCache(url, prefix);
  await cache.ready; // subscribed: from now on no message of the parent is missed
  const greetings = cache.scope<string>(SCOPE);
  let l2Reads = 0;
  greetings.on(CacheEventType.CACHE_L2_HIT, () => l2Reads++);
  let loaderRuns = 0;
  const load = async () => {
    loaderRuns++;
    return `hello from the child (pid ${process.pid})`;
  };

  // 1. Cold key: the loader runs; the value is stored in this process's L1 and in Redis.
  const first = await greetings.getOrSet(KEY, load);
  assert.equal(loaderRuns, 1);
  assert.deepEqual(greetings.keys(), [KEY]);
  log(`getOrSet('${KEY}') ran its loader → "${first}" (now in this process's L1 and in Redis)`);
  process.send?.({ step: 'cached', value: first } satisfies Message);

  // 2. The parent wrote a new value. Its backplane message may arrive just before or just after the IPC one.
  const written = expectStep(await nextMessage(process, 5_000), 'written');
  const since = Date.now();
  while (greetings.keys().includes(KEY)) {
    assert.ok(Date.now() - since < 2_000, 'the backplane message never arrived');
    await sleep(5);
  }
  log(`the parent's backplane message dropped '${KEY}' from this process's L1 (L1 keys now: [${greetings.keys().join(', ')}])`);

  // 3. L1 miss → Redis (L2) hit: the parent's value, and the loader does not run again.
  const second = await greetings.getOrSet(KEY, load);
  assert.equal(second, written.value);
  assert.equal(loaderRuns, 1);
  assert.equal(l2Reads, 1);
  assert.deepEqual(greetings.keys(), [KEY]); // back in L1, with the parent's value
  log(`getOrSet('${KEY}') → "${second}", from Redis (CACHE_L2_HIT; loader runs: ${loaderRuns})`);

  process.send?.({ step: 'observed', value: second, loaderRuns, l2Hits: greetings.stats().l2Hits } satisfies Message);
  await close(); // lets writes in flight finish, then closes the three Redis connections
  process.off('disconnect', orphaned);
  process.disconnect?.();
}

/** Deletes every key of the demo's namespace: SCAN MATCH + UNLINK on each master, never KEYS or FLUSH*. */
async function removeNamespace(handle: CacheHandle, prefix: string): Promise<number> {
  const client = handle.store?.client;
  if (client === undefined) return 0;
  const nodes = 'nodes' in client ? client.nodes('master') : [client]; // a Cluster: every master
  let removed = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) removed += await node.unlink(...keys);
    } while (cursor !== '0');
  }
  return removed;
}
