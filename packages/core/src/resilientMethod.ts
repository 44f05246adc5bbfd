import type { ResilientOptions } from './options/ResilientOptions';
import { defaultRegistry } from './ResilienceRegistry';
import type { ResilienceRegistry } from './ResilienceRegistry';

/**
 * A method decorator (TypeScript 5 / TC39 decorators): the method runs through one pipeline shared by
 * every instance. `this` is passed through but is not part of cache keys: key on an id argument, or give
 * `cache.key`.
 *
 * @example
 * class ProductService {
 *   @resilientMethod({ retry: { maxAttempts: 3 }, timeout: '2s' })
 *   async find(id: number) { return this.db.products.find(id); }
 * }
 */
export function resilientMethod<A extends unknown[], R>(
  options: ResilientOptions<A, Awaited<R>> = {},
  registry: ResilienceRegistry = defaultRegistry,
) {
  return function <This>(
    method: (this: This, ...args: A) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
  ): (this: This, ...args: A) => Promise<Awaited<R>> {
    if (context.kind !== 'method') throw new TypeError('@resilientMethod decorates methods');
    const name = typeof context.name === 'string' ? context.name : context.name.description ?? 'method';
    const named = Object.defineProperty(function (this: This, ...args: A) {
      return method.apply(this, args);
    }, 'name', { value: name });
    return registry.resilient<A, Awaited<R>, Awaited<R>>(options)(named as (...args: A) => Awaited<R> | PromiseLike<Awaited<R>>);
  };
}
