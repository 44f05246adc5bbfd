import { Injectable, Module } from '@nestjs/common';
import { ToolkitCacheModule } from '@toolkit/nestjs';

@Injectable()
class CacheConfig {
  readonly ttl = process.env.CACHE_TTL ?? '30s';
  readonly url = process.env.CACHE_URL;
}

@Module({ providers: [CacheConfig], exports: [CacheConfig] })
class ConfigModule {}

@Module({
  imports: [
    ToolkitCacheModule.forRootAsync({
      imports: [ConfigModule],
      inject: [CacheConfig],
      useFactory: (config: CacheConfig) => ({ ttl: config.ttl, env: { CACHE_URL: config.url } }),
    }),
  ],
})
export class AppModule {}
