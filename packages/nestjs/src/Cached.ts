import { Inject } from '@nestjs/common';
import { Cache } from '@toolkit/cache';
import type { CachedFunction, CachedOptions } from '@toolkit/cache';

/** Options of {@link Cached}: those of `cache.cached()`; `name` defaults to `ClassName.method`. */
export type CachedMethodOptions = CachedOptions<never[], unknown>;

/** Where the module's `Cache` is injected on an instance with `@Cached()` methods. */
const CACHE = Symbol('@toolkit/nestjs:cached-cache');

/** Classes whose instances already get the cache injected. */
const injected = new WeakSet<object>();

/** A method: any parameters, a promise. @inline */
type AsyncMethod = (...args: never[]) => Promise<unknown>;

/**
 * Caches an async method of a provider with the `Cache` of {@link ToolkitCacheModule}, taken from the
 * dependency injection container (the class must be a provider of a module that imports the module, or
 * of an app where it is global). The key is derived from the arguments only (`this` is left out), or
 * made by `key`; the method keeps its type. The class's instances (transient or request-scoped ones too)
 * share one scope of the cache, named `ClassName.method`, and so its entries.
 *
 * @example
 * \@Injectable()
 * class ItemsService {
 *   \@Cached({ ttl: '5m', key: 'item:{0}', tags: ['item:{0}'] })
 *   async find(id: string): Promise<Item> { return this.db.items.find(id); }
 * }
 */
export function Cached(options: CachedMethodOptions = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('the options of `@Cached()` must be an object');
  return <M extends AsyncMethod>(target: object, method: string | symbol, descriptor: TypedPropertyDescriptor<M>): TypedPropertyDescriptor<M> => {
    const original = descriptor.value;
    const owner = (target as { constructor: { name: string } }).constructor;
    const name = `${owner.name}.${String(method)}`;
    if (typeof original !== 'function') throw new TypeError(`\`@Cached()\` decorates a method; ${name} is not one`);
    if (!injected.has(owner)) {
      injected.add(owner);
      Inject(Cache)(target, CACHE);
    }
    // One cached function per cache, shared by the class's instances: `this` is not part of the key.
    const wrappers = new WeakMap<Cache, CachedFunction<unknown[], unknown>>();
    const cachedMethod = function (this: { [CACHE]?: Cache }, ...args: unknown[]): Promise<unknown> {
      const cache = this[CACHE];
      if (cache === undefined) {
        // A method returning a promise rejects, it does not throw.
        return Promise.reject(
          new Error(`\`@Cached()\` ${name}: no Cache was injected; make ${owner.name} a provider of a module that imports ToolkitCacheModule (or register the module with \`global: true\`)`),
        );
      }
      let wrapper = wrappers.get(cache);
      if (wrapper === undefined) {
        wrapper = cache.cached(original as unknown as (...a: unknown[]) => Promise<unknown>, { name, ...(options as CachedOptions<unknown[], unknown>) });
        wrappers.set(cache, wrapper);
      }
      return wrapper.apply(this, args);
    };
    Object.defineProperty(cachedMethod, 'name', { value: original.name });
    // Metadata other decorators put on the method (a route's path, a guard) stays on it.
    for (const key of Reflect.getMetadataKeys(original)) Reflect.defineMetadata(key, Reflect.getMetadata(key, original), cachedMethod);
    return { ...descriptor, value: cachedMethod as unknown as M };
  };
}
