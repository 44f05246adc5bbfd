import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { OpenedCache } from '@toolkit/http-cache';
import { OPENED_CACHE, TOOLKIT_CACHE_OPTIONS } from './tokens';
import type { ToolkitCacheModuleOptions } from './ToolkitCacheModuleOptions';

/** Ties the cache to the application: waits for it on init, closes it on shutdown (`app.close()`). @internal */
@Injectable()
export class CacheLifecycle implements OnModuleInit, OnApplicationShutdown {
  #closing: Promise<void> | undefined;

  constructor(
    @Inject(OPENED_CACHE) private readonly opened: OpenedCache,
    @Inject(TOOLKIT_CACHE_OPTIONS) private readonly options: ToolkitCacheModuleOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.opened.cache.ready;
  }

  async onApplicationShutdown(): Promise<void> {
    if (!(this.options.closeCache ?? this.opened.owned)) return;
    await (this.#closing ??= this.opened.close());
  }
}
