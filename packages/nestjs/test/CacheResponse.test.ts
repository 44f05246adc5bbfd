import { Controller, Get, Module, NotFoundException, Param, Post } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { CacheResponse, InvalidateTags, ToolkitCacheInterceptor, ToolkitCacheModule } from '@toolkit/nestjs';

/** How often each handler ran. */
const runs = { item: 0, save: 0, missing: 0, listed: 0, plain: 0 };

@Controller('items')
class ItemsController {
  @Get(':id')
  @CacheResponse({ ttl: '1m', tags: ['item:{id}'] })
  find(@Param('id') id: string) {
    runs.item++;
    return { id, run: runs.item };
  }

  @Post(':id')
  @InvalidateTags('item:{id}')
  save(@Param('id') id: string) {
    runs.save++;
    return { saved: id };
  }

  @Get('missing/:id')
  @CacheResponse()
  missing(): never {
    runs.missing++;
    throw new NotFoundException('no such item');
  }
}

/** Every GET of the controller is cached; its other routes are not. */
@Controller('lists')
@CacheResponse({ ttl: '30s' })
class ListsController {
  @Get()
  list() {
    return `list run=${++runs.listed}`;
  }
}

@Controller('plain')
class PlainController {
  @Get()
  plain() {
    return `plain run=${++runs.plain}`;
  }
}

@Module({
  imports: [ToolkitCacheModule.forRoot({ env: false })],
  controllers: [ItemsController, ListsController, PlainController],
  // Registered globally too: routes with a decorator are handled once, routes without pass untouched.
  providers: [{ provide: APP_INTERCEPTOR, useClass: ToolkitCacheInterceptor }],
})
class AppModule {}

describe('@CacheResponse() and @InvalidateTags() over a listening Nest app', () => {
  let app: INestApplication;
  let url: string;
  beforeEach(async () => {
    for (const name of Object.keys(runs) as (keyof typeof runs)[]) runs[name] = 0;
    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });
  afterEach(() => app.close());

  it('runs the handler once for two GETs: MISS, then HIT with the same JSON body', async () => {
    const first = await fetch(`${url}/items/1`);
    expect([first.status, first.headers.get('x-cache'), first.headers.get('content-type'), await first.json()]).toEqual([
      200,
      'MISS',
      'application/json; charset=utf-8',
      { id: '1', run: 1 },
    ]);
    const second = await fetch(`${url}/items/1`);
    expect([second.status, second.headers.get('x-cache'), second.headers.get('content-type'), await second.json()]).toEqual([
      200,
      'HIT',
      'application/json; charset=utf-8',
      { id: '1', run: 1 },
    ]);
    expect(runs.item).toBe(1);
  });

  it('answers 304 to If-None-Match with the stored ETag, without running the handler', async () => {
    const first = await fetch(`${url}/items/1`);
    const etag = first.headers.get('etag') as string;
    expect(etag).toMatch(/^(W\/)?"[^"]+"$/);
    const notModified = await fetch(`${url}/items/1`, { headers: { 'if-none-match': etag } });
    expect([notModified.status, await notModified.text(), notModified.headers.get('etag'), notModified.headers.get('x-cache')]).toEqual([304, '', etag, 'HIT']);
    expect(runs.item).toBe(1);
  });

  it('drops the tagged response when the POST succeeded, and only that one', async () => {
    await fetch(`${url}/items/1`);
    await fetch(`${url}/items/2`);
    const saved = await fetch(`${url}/items/1`, { method: 'POST' });
    expect([saved.status, await saved.json()]).toEqual([201, { saved: '1' }]);
    const again = await fetch(`${url}/items/1`);
    expect([again.headers.get('x-cache'), await again.json()]).toEqual(['MISS', { id: '1', run: 3 }]);
    expect((await fetch(`${url}/items/2`)).headers.get('x-cache')).toBe('HIT');
    expect([runs.item, runs.save]).toEqual([3, 1]);
  });

  it('never stores an HttpException’s answer', async () => {
    const first = await fetch(`${url}/items/missing/1`);
    const second = await fetch(`${url}/items/missing/1`);
    expect([first.status, second.status, second.headers.get('x-cache')]).toEqual([404, 404, 'MISS']);
    expect(await second.json()).toEqual({ statusCode: 404, error: 'Not Found', message: 'no such item' });
    expect(runs.missing).toBe(2);
  });

  it('caches every GET of a decorated controller, and leaves undecorated routes alone', async () => {
    expect(await (await fetch(`${url}/lists`)).text()).toBe('list run=1');
    const hit = await fetch(`${url}/lists`);
    expect([await hit.text(), hit.headers.get('x-cache'), hit.headers.get('cache-control')?.startsWith('max-age=')]).toEqual(['list run=1', 'HIT', true]);
    const plain = [await fetch(`${url}/plain`), await fetch(`${url}/plain`)];
    expect([await plain[0]?.text(), await plain[1]?.text(), plain[1]?.headers.get('x-cache')]).toEqual(['plain run=1', 'plain run=2', null]);
  });
});
