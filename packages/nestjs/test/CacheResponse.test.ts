import { Controller, Get, Module, Param, Post } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CacheResponse, InvalidateTags, ToolkitCacheModule } from '@toolkit/nestjs';

/** How often each handler ran. */
const runs = { item: 0, save: 0 };

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
}

@Module({ imports: [ToolkitCacheModule.forRoot({ env: false })], controllers: [ItemsController] })
class AppModule {}

describe('@CacheResponse() over a listening Nest app', () => {
  let app: INestApplication;
  let url: string;
  beforeEach(async () => {
    runs.item = 0;
    runs.save = 0;
    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });
  afterEach(() => app.close());

  it('runs the handler once for two GETs: MISS, then HIT with the same body', async () => {
    const first = await fetch(`${url}/items/1`);
    expect([first.status, first.headers.get('x-cache'), await first.json()]).toEqual([200, 'MISS', { id: '1', run: 1 }]);
    const second = await fetch(`${url}/items/1`);
    expect([second.status, second.headers.get('x-cache'), await second.json()]).toEqual([200, 'HIT', { id: '1', run: 1 }]);
    expect(runs.item).toBe(1);
  });
});
