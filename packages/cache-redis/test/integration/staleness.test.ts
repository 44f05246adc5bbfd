/**
 * The stale-read bound, measured on a private redis-server (never the shared one): one writer and three
 * readers (four `Cache` instances, each with its own connections, as four processes would have). Each
 * reader holds the old value in L1; the writer changes it; the reader polls `get()` until it serves the new
 * value. Staleness is the time from the writer's call resolving to the reader's last read of the old value.
 *
 * - Steady state: `set` and `invalidateTags`, 100 rounds each.
 * - After faults: Redis killed for 1 s (a write during the outage, then a restart) and stopped with
 *   SIGSTOP for 1 s (the same, then SIGCONT); the clock starts when Redis is back.
 *
 * `TOOLKIT_STALENESS_REPORT=1` prints the figures (the README quotes them). Real timers, bounded.
 */
import { Cache } from '@toolkit/cache';
import { RedisBackplane, RedisStore } from '@toolkit/cache-redis';
import { killAllTrackedRedisServers, startRedisServer, within } from '../redisServers';
import type { RedisServerHandle } from '../redisServers';

const PREFIX = 'stale';
/** Roomy enough that a busy machine does not turn slow replies into failures in steady state. */
const guard = { timeoutMs: 1_000, breaker: { consecutiveFailures: 3, halfOpenAfter: 5_000 } };
const READERS = 3;
const ROUNDS = 100;
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
const tick = () => new Promise<void>((done) => setImmediate(done));

let server: RedisServerHandle | undefined;
const closers: Array<() => Promise<void> | void> = [];
const report: string[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await within(Promise.resolve(close()), 5_000, 'a cleanup').catch((error: unknown) => console.error(error));
  await server?.stop();
  await killAllTrackedRedisServers();
  if (process.env.TOOLKIT_STALENESS_REPORT === '1') console.log(report.join('\n'));
});

async function node(url: string) {
  const store = RedisStore.connect(url, { prefix: PREFIX, ...guard });
  const backplane = RedisBackplane.connect(url, { prefix: PREFIX, ...guard });
  const cache = new Cache({ prefix: PREFIX, ttl: 60_000, store, backplane });
  closers.push(async () => {
    await cache.close();
    await Promise.all([store.close(), backplane.close()]);
  });
  await within(cache.ready, 5_000, 'subscribing');
  await within(store.ping(), 5_000, 'PING');
  return { cache, items: cache.scope<string>('items') };
}

type Node = Awaited<ReturnType<typeof node>>;

/**
 * Polls `reader` until it serves `expected`; resolves to the ms from `since` to its last read of `old`
 * (0 if it never served it after `since`). A miss (undefined, while the L2 does not have the new value
 * yet) is not stale: a `getOrSet` would load.
 */
async function staleFor(reader: Node, key: string, old: string, expected: string | undefined, since: number, limitMs: number): Promise<number> {
  let lastOld = since;
  for (;;) {
    const value = await reader.items.get(key);
    const now = Date.now();
    if (value === expected) return lastOld - since;
    if (value === old) lastOld = now;
    if (now - since > limitMs) throw new Error(`a reader still served ${String(value)} instead of ${String(expected)} ${limitMs} ms later`);
    await tick();
  }
}

function summary(what: string, samples: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  const figures = { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) as number };
  report.push(`${what}: n=${samples.length} staleness p50 ${figures.p50} ms, p99 ${figures.p99} ms, max ${figures.max} ms`);
  return figures;
}

describe('stale reads after an invalidation resolves (1 writer, 3 readers, a private redis-server)', () => {
  let writer: Node;
  let readers: Node[];
  beforeAll(async () => {
    writer = await node(server!.url);
    readers = await Promise.all(Array.from({ length: READERS }, () => node(server!.url)));
  });

  /** Every reader holds `value` for `key` in L1 (read through, after the writer's message went by). */
  async function warm(key: string, value: string): Promise<void> {
    // The writer's message about `value` itself may still be on its way (it would drop the copy): read
    // until the copy stays.
    for (const r of readers) {
      const deadline = Date.now() + 3_000;
      do {
        expect(await r.items.get(key)).toBe(value);
        await sleep(5);
      } while (r.items.getSync(key) !== value && Date.now() < deadline);
      expect(r.items.getSync(key)).toBe(value);
    }
  }

  it('steady state: after set() resolves, no reader serves the old value for more than a few ms', async () => {
    const samples: number[] = [];
    await writer.items.set('k', 'v0');
    for (let i = 0; i < ROUNDS; i++) {
      await warm('k', `v${i}`);
      await writer.items.set('k', `v${i + 1}`);
      const since = Date.now();
      samples.push(...(await Promise.all(readers.map((r) => staleFor(r, 'k', `v${i}`, `v${i + 1}`, since, 2_000)))));
    }
    expect(summary('steady state, set()', samples).max).toBeLessThan(500);
  });

  it('steady state: after invalidateTags() resolves, no reader serves the invalidated value for more than a few ms', async () => {
    const samples: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await writer.items.set('tagged', `t${i}`, { tags: ['group'] });
      await warm('tagged', `t${i}`);
      await writer.cache.invalidateTags(['group']);
      const since = Date.now();
      samples.push(...(await Promise.all(readers.map((r) => staleFor(r, 'tagged', `t${i}`, undefined, since, 2_000)))));
    }
    expect(summary('steady state, invalidateTags()', samples).max).toBeLessThan(500);
  });

  it.each([
    ['killed for 1 s, then restarted', 'kill'],
    ['stopped (SIGSTOP) for 1 s, then SIGCONT', 'stop'],
  ])('after a fault (%s): the write made during the outage is served by every reader within 3 s of Redis being back', async (what, fault) => {
    const s = server!;
    const samples: number[] = [];
    for (let round = 0; round < 3; round++) {
      const key = `fault:${fault}:${round}`;
      await writer.items.set(key, 'before');
      await warm(key, 'before');
      const pid = s.pid;
      if (fault === 'kill') await s.kill();
      else process.kill(pid, 'SIGSTOP');
      await sleep(200);
      await within(writer.items.set(key, 'during'), 2_000, 'the set during the outage'); // resolves: kept for replay
      await sleep(800);
      if (fault === 'kill') await s.restart();
      else process.kill(pid, 'SIGCONT');
      const since = Date.now();
      samples.push(...(await Promise.all(readers.map((r) => staleFor(r, key, 'before', 'during', since, 5_000)))));
      await sleep(300); // connections settle before the next round
    }
    expect(summary(`after a fault (${what}), from Redis back`, samples).max).toBeLessThan(3_000);
  });
});
