import { Inject } from '@nestjs/common';
import { Cache } from '@toolkit/cache';

/**
 * Injects the `Cache` of {@link ToolkitCacheModule}. The `Cache` class is the injection token, so a
 * constructor parameter typed `Cache` is injected without it where the compiler emits decorator metadata
 * (tsc, swc); with one that does not (esbuild, tsx), write `@InjectCache()`.
 *
 * @example
 * constructor(@InjectCache() private readonly cache: Cache) {}
 */
export const InjectCache = (): PropertyDecorator & ParameterDecorator => Inject(Cache);
