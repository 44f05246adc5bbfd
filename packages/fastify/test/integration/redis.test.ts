import { toolkitCache } from '@toolkit/fastify';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { testRedisUrl, uniquePrefix } from '../../../cache-redis/test/sharedRedis';

// Two app instances (two processes in production) on one Redis from CACHE_URL: a response cached by
// one is a hit in the other, and a write route of one drops it in both.
describe('@toolkit/fastify with CACHE_URL=redis://', () => {
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  async function start(runs: { n: number }): Promise<string> {
    const app = Fastify();
    apps.push(app);
    await app.register(toolkitCache, { env: { CACHE_URL: testRedisUrl(), CACHE_PREFIX: prefix } });
    app.get('/items/:id', { config: { cache: { ttl: '1m', tags: ['item:{id}'] } } }, async (request) => `item ${(request.params as { id: string }).id} run=${++runs.n}`);
    app.post('/items/:id', { config: { invalidate: ['item:{id}'] } }, async () => 'saved');
    return app.listen({ host: '127.0.0.1', port: 0 });
  }
  let prefix: string;
  beforeEach(() => {
    prefix = uniquePrefix('fastify').replace(/:/g, '-');
  });

  it('shares responses and invalidations across app instances', async () => {
    const runs = { n: 0 };
    const [one, two] = [await start(runs), await start(runs)];
    const first = await fetch(`${one}/items/1`);
    expect([await first.text(), first.headers.get('x-cache')]).toEqual(['item 1 run=1', 'MISS']);
    const second = await fetch(`${two}/items/1`);
    expect([await second.text(), second.headers.get('x-cache')]).toEqual(['item 1 run=1', 'HIT']);

    expect((await fetch(`${one}/items/1`, { method: 'POST' })).status).toBe(200);
    // The invalidation reaches the other instance over the backplane, a few ms after the write resolved
    // (the stale-read bound in @toolkit/cache-redis's README): wait for it, bounded, then read.
    await untilEmpty(apps[1] as FastifyInstance, 2_000);
    const after = await fetch(`${two}/items/1`);
    expect([await after.text(), after.headers.get('x-cache')]).toEqual(['item 1 run=2', 'MISS']);
    await apps[0]?.cache.clear();
  });
});

/** Resolves once the app's cache holds no entry in memory; fails after `ms`. */
async function untilEmpty(app: FastifyInstance, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const held = () => Object.values(app.cache.stats().scopes).reduce((n, s) => n + (s?.size ?? 0), 0);
  while (held() > 0) {
    if (Date.now() > deadline) throw new Error(`the invalidation did not reach the other instance within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
