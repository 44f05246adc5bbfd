import { Controller, Get, Module, Param, Post } from '@nestjs/common';
import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Cache } from '@toolkit/cache';
import { CacheResponse, InvalidateTags, ToolkitCacheModule } from '@toolkit/nestjs';
import { testRedisUrl, uniquePrefix } from '../../../cache-redis/test/sharedRedis';

// Two Nest apps (two processes in production) on one Redis from CACHE_URL: a response cached by one is a
// hit in the other, and a write route of one drops it in both.
describe('@toolkit/nestjs with CACHE_URL=redis://', () => {
  const runs = { n: 0 };

  @Controller('items')
  class ItemsController {
    @Get(':id')
    @CacheResponse({ ttl: '1m', tags: ['item:{id}'] })
    find(@Param('id') id: string) {
      return `item ${id} run=${++runs.n}`;
    }

    @Post(':id')
    @InvalidateTags('item:{id}')
    save() {
      return 'saved';
    }
  }

  const apps: INestApplication[] = [];
  let prefix: string;
  beforeEach(() => {
    runs.n = 0;
    prefix = uniquePrefix('nestjs').replace(/:/g, '-');
  });
  afterEach(async () => {
    await apps[0]?.get(Cache).clear();
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  async function start(): Promise<{ app: INestApplication; url: string }> {
    const cacheModule: DynamicModule = ToolkitCacheModule.forRoot({ env: { CACHE_URL: testRedisUrl(), CACHE_PREFIX: prefix } });
    @Module({ imports: [cacheModule], controllers: [ItemsController] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false });
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    return { app, url: await app.getUrl() };
  }

  it('shares responses and invalidations across app instances, and closes its Redis connections with the app', async () => {
    const [one, two] = [await start(), await start()];
    const first = await fetch(`${one.url}/items/1`);
    expect([await first.text(), first.headers.get('x-cache')]).toEqual(['item 1 run=1', 'MISS']);
    const second = await fetch(`${two.url}/items/1`);
    expect([await second.text(), second.headers.get('x-cache')]).toEqual(['item 1 run=1', 'HIT']);

    expect((await fetch(`${one.url}/items/1`, { method: 'POST' })).status).toBe(201);
    // The invalidation reaches the other instance over the backplane a few ms after the write resolved
    // (the stale-read bound in @toolkit/cache-redis's README): wait for it, bounded, then read.
    await untilEmpty(two.app.get(Cache), 2_000);
    const after = await fetch(`${two.url}/items/1`);
    expect([await after.text(), after.headers.get('x-cache')]).toEqual(['item 1 run=2', 'MISS']);

    const close = jest.spyOn(two.app.get(Cache), 'close');
    await two.app.close();
    apps.splice(apps.indexOf(two.app), 1);
    expect(close).toHaveBeenCalledTimes(1);
  });
});

/** Resolves once the cache holds no entry in memory; fails after `ms`. */
async function untilEmpty(cache: Cache, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const held = () => Object.values(cache.stats().scopes).reduce((n, s) => n + (s?.size ?? 0), 0);
  while (held() > 0) {
    if (Date.now() > deadline) throw new Error(`the invalidation did not reach the other instance within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
