import { Controller, Get, Injectable, Module, Param, Post, Scope } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Cache } from '@toolkit/cache';
import { Cached, InvalidateTags, ToolkitCacheModule } from '@toolkit/nestjs';

interface Item {
  id: string;
  lang: string;
  load: number;
}

@Injectable()
class ItemsService {
  loads = 0;
  readonly prefix = 'item';

  @Cached({ ttl: '1m', key: '{0}:{1}', tags: ['item:{0}'] })
  async find(id: string, lang: string): Promise<Item> {
    this.loads++;
    return { id: `${this.prefix}-${id}`, lang, load: this.loads };
  }

  @Cached()
  async count(filter: { status: string; page: number }): Promise<string> {
    this.loads++;
    return `${filter.status}/${filter.page}`;
  }
}

/** A provider made anew for each consumer: its instances share the method's entries. */
@Injectable({ scope: Scope.TRANSIENT })
class RatesService {
  static loads = 0;
  readonly made = ++made;

  @Cached({ ttl: '1m' })
  async rate(currency: string): Promise<string> {
    RatesService.loads++;
    return `${currency} by instance ${this.made}`;
  }
}
let made = 0;

@Controller('items')
class ItemsController {
  constructor(private readonly items: ItemsService) {}

  @Get(':id')
  find(@Param('id') id: string) {
    return this.items.find(id, 'en');
  }

  @Post(':id')
  @InvalidateTags('item:{id}')
  save() {
    return { saved: true };
  }
}

@Module({ imports: [ToolkitCacheModule.forRoot({ env: false })], controllers: [ItemsController], providers: [ItemsService, RatesService] })
class AppModule {}

describe('@Cached() service methods', () => {
  let app: INestApplication;
  beforeEach(async () => {
    RatesService.loads = 0;
    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
  });
  afterEach(() => app.close());

  it('runs the method once per arguments, with `this` the instance and left out of the key', async () => {
    const items = app.get(ItemsService);
    expect(await items.find('1', 'en')).toEqual({ id: 'item-1', lang: 'en', load: 1 });
    expect(await items.find('1', 'en')).toEqual({ id: 'item-1', lang: 'en', load: 1 });
    expect(await items.find('1', 'fr')).toEqual({ id: 'item-1', lang: 'fr', load: 2 });
    expect(items.loads).toBe(2);
    // Derived keys: stable across the key order of an object argument.
    expect(await items.count({ status: 'open', page: 1 })).toBe('open/1');
    expect(await items.count({ page: 1, status: 'open' })).toBe('open/1');
    expect(items.loads).toBe(3);
  });

  it('stores in the module’s Cache, in a scope named after the class and method', async () => {
    const cache = app.get(Cache);
    const items = app.get(ItemsService);
    await items.find('1', 'en');
    expect(cache.scopeNames).toEqual(expect.arrayContaining(['ItemsService.find']));
    expect(await cache.scope('ItemsService.find').get('1:en')).toEqual({ id: 'item-1', lang: 'en', load: 1 });
  });

  it('shares one scope between the instances of a transient provider: `this` is not part of the key', async () => {
    const [first, second] = [await app.resolve(RatesService), await app.resolve(RatesService)];
    expect(first).not.toBe(second);
    expect(await first.rate('EUR')).toBe(`EUR by instance ${first.made}`);
    expect(await second.rate('EUR')).toBe(`EUR by instance ${first.made}`);
    expect(await second.rate('USD')).toBe(`USD by instance ${second.made}`);
    expect(RatesService.loads).toBe(2);
    expect(app.get(Cache).scopeNames.filter((name) => name.startsWith('RatesService.'))).toEqual(['RatesService.rate']);
  });

  it('is invalidated by tag from a write route', async () => {
    const url = await app.getUrl();
    const items = app.get(ItemsService);
    expect(await (await fetch(`${url}/items/1`)).json()).toEqual({ id: 'item-1', lang: 'en', load: 1 });
    expect(await (await fetch(`${url}/items/1`)).json()).toEqual({ id: 'item-1', lang: 'en', load: 1 });
    expect((await fetch(`${url}/items/1`, { method: 'POST' })).status).toBe(201);
    expect(await (await fetch(`${url}/items/1`)).json()).toEqual({ id: 'item-1', lang: 'en', load: 2 });
    expect(items.loads).toBe(2);
  });
});

describe('@Cached() outside the module', () => {
  it('says what is missing when the class was not made by a module that provides the cache', async () => {
    class Plain {
      @Cached()
      async value(): Promise<number> {
        return 1;
      }
    }
    await expect(new Plain().value()).rejects.toThrow(
      new Error('`@Cached()` Plain.value: no Cache was injected; make Plain a provider of a module that imports ToolkitCacheModule (or register the module with `global: true`)'),
    );
  });

  it('refuses what is not a method', () => {
    const decorate = Cached();
    expect(() => decorate({}, 'field', { value: 1 as never })).toThrow(new TypeError('`@Cached()` decorates a method; Object.field is not one'));
  });
});
