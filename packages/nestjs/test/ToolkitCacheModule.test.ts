import { Controller, Get, Inject, Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Cache } from '@toolkit/cache';
import { CacheResponse, InjectCache, ResponseCache, TOOLKIT_CACHE_OPTIONS, ToolkitCacheModule } from '@toolkit/nestjs';
import type { ToolkitCacheModuleOptions } from '@toolkit/nestjs';

/** A config service, as @nestjs/config's would be: forRootAsync reads the module's options from it. */
@Injectable()
class ConfigService {
  readonly values: Record<string, string> = { CACHE_TTL: '45s', CACHE_HEADER: 'x-toolkit' };
  get(name: string): string {
    const value = this.values[name];
    if (value === undefined) throw new Error(`no ${name}`);
    return value;
  }
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
class ConfigModule {}

/** Both ways of injecting the cache: by type (decorator metadata) and with @InjectCache(). */
@Injectable()
class Holder {
  constructor(
    readonly byType: Cache,
    @InjectCache() readonly byDecorator: Cache,
  ) {}
}

@Controller()
class PingController {
  @Get('ping')
  @CacheResponse()
  ping() {
    return 'pong';
  }
}

/** A feature module that does not import ToolkitCacheModule: it sees the cache only when the module is global. */
@Module({ providers: [Holder], exports: [Holder] })
class FeatureModule {}

const apps: INestApplication[] = [];
async function start(module: new () => object): Promise<INestApplication> {
  const app = await NestFactory.create(module, { logger: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  return app;
}
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('ToolkitCacheModule', () => {
  it('provides one Cache, injected by type and by @InjectCache(), to a global module’s importers and beyond', async () => {
    @Module({ imports: [ToolkitCacheModule.forRoot({ env: false, global: true }), FeatureModule] })
    class AppModule {}
    const app = await start(AppModule);
    const holder = app.get(Holder);
    expect(holder.byType).toBeInstanceOf(Cache);
    expect(holder.byDecorator).toBe(holder.byType);
    expect(app.get(Cache)).toBe(holder.byType);
    expect(app.get(ResponseCache).cache).toBe(holder.byType);
  });

  it('is not global unless asked: a module that does not import it cannot inject the cache', async () => {
    @Module({ imports: [ToolkitCacheModule.forRoot({ env: false }), FeatureModule] })
    class AppModule {}
    await expect(NestFactory.create(AppModule, { logger: false, abortOnError: false })).rejects.toThrow(/Holder/);
  });

  it('uses the Cache you give, and leaves it open on app.close()', async () => {
    const cache = new Cache();
    const close = jest.spyOn(cache, 'close');
    @Module({ imports: [ToolkitCacheModule.forRoot({ cache })] })
    class AppModule {}
    const app = await start(AppModule);
    expect(app.get(Cache)).toBe(cache);
    await app.close();
    expect(close).toHaveBeenCalledTimes(0);
  });

  it('closes the cache it made on app.close(), once, and yours when closeCache says so', async () => {
    @Module({ imports: [ToolkitCacheModule.forRoot({ cache: { ttl: '1m' } })] })
    class OwnModule {}
    const own = await start(OwnModule);
    const closeOwn = jest.spyOn(own.get(Cache), 'close');
    await own.close();
    expect(closeOwn).toHaveBeenCalledTimes(1);

    const yours = new Cache();
    const closeYours = jest.spyOn(yours, 'close');
    @Module({ imports: [ToolkitCacheModule.forRoot({ cache: yours, closeCache: true })] })
    class YoursModule {}
    await (await start(YoursModule)).close();
    expect(closeYours).toHaveBeenCalledTimes(1);
  });

  it('makes its options with forRootAsync from an injected config service', async () => {
    @Module({
      imports: [
        ToolkitCacheModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService): ToolkitCacheModuleOptions => ({ env: false, ttl: config.get('CACHE_TTL'), header: config.get('CACHE_HEADER') }),
        }),
      ],
      controllers: [PingController],
    })
    class AppModule {}
    const app = await start(AppModule);
    expect(app.get<ToolkitCacheModuleOptions>(TOOLKIT_CACHE_OPTIONS)).toEqual({ env: false, ttl: '45s', header: 'x-toolkit' });
    const url = await app.getUrl();
    const miss = await fetch(`${url}/ping`);
    expect([await miss.text(), miss.headers.get('x-toolkit'), miss.headers.get('cache-control')]).toEqual(['pong', 'MISS', 'max-age=45']);
    const hit = await fetch(`${url}/ping`);
    expect([await hit.text(), hit.headers.get('x-toolkit'), hit.headers.get('x-cache')]).toEqual(['pong', 'HIT', null]);
  });

  it('reads CACHE_URL from `env` (mem:// here: the Redis one is in test/integration)', async () => {
    @Module({ imports: [ToolkitCacheModule.forRoot({ env: { CACHE_URL: 'mem://', CACHE_PREFIX: 'nest-env' } })] })
    class AppModule {}
    const app = await start(AppModule);
    expect(app.get(Cache).prefix).toBe('nest-env');
  });

  it('refuses forRootAsync without a useFactory, saying what it needs', () => {
    expect(() => ToolkitCacheModule.forRootAsync({} as never)).toThrow(
      new TypeError('`useFactory` of ToolkitCacheModule.forRootAsync() must be a function returning the module options'),
    );
  });

  it('refuses an unknown option name with the closest valid one, in forRoot() and from forRootAsync()’s factory', async () => {
    expect(() => ToolkitCacheModule.forRoot({ env: false, closeCach: true } as never)).toThrow(
      new TypeError('unknown ToolkitCacheModule option `closeCach`: did you mean `closeCache`?'),
    );
    @Module({ imports: [ToolkitCacheModule.forRootAsync({ useFactory: () => ({ env: false, errors: { exposeMessages: true } }) as never })] })
    class AppModule {}
    await expect(NestFactory.create(AppModule, { logger: false, abortOnError: false })).rejects.toThrow(
      new TypeError('unknown ToolkitCacheModule option `errors.exposeMessages`: did you mean `errors.exposeMessage`?'),
    );
  });

  it('fails the app’s start-up on a bad response cache option, naming it', async () => {
    @Module({ imports: [ToolkitCacheModule.forRoot({ env: false, header: 'bad header' })] })
    class AppModule {}
    await expect(NestFactory.create(AppModule, { logger: false, abortOnError: false })).rejects.toThrow(new TypeError('`header` must be a header name or false'));
  });
});

describe('ToolkitCacheModule route checks', () => {
  it('fails the app’s start-up on a bad @CacheResponse() option, naming the route and the option', async () => {
    @Controller()
    class BadController {
      @Get('bad')
      @CacheResponse({ ttl: -1 })
      bad() {
        return 'never';
      }
    }
    @Module({ imports: [ToolkitCacheModule.forRoot({ env: false })], controllers: [BadController] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false });
    apps.push(app);
    await expect(app.init()).rejects.toMatchObject({
      name: 'RangeError',
      message: '@CacheResponse() of BadController.bad: `ttl` must not be negative, got -1',
      cause: expect.objectContaining({ message: '`ttl` must not be negative, got -1' }),
    });
  });
});

describe('ToolkitCacheModule with an explicit token', () => {
  it('injects with @Inject(Cache) too', async () => {
    @Injectable()
    class Explicit {
      constructor(@Inject(Cache) readonly cache: Cache) {}
    }
    @Module({ imports: [ToolkitCacheModule.forRoot({ env: false })], providers: [Explicit] })
    class AppModule {}
    const app = await start(AppModule);
    expect(app.get(Explicit).cache).toBe(app.get(Cache));
  });
});
