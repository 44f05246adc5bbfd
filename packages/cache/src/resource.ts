import type { CachedFunction, CachedOptions } from './cached';
import type { InvalidatingFunction, InvalidatingOptions } from './invalidating';
import { escapeKeyPart } from './keys/escapeKeyPart';
import { compileTemplate } from './keys/keyTemplate';
import { describe } from './options/duration';

/** Options of `resource.cached()`: those of `cache.cached()`, plus the suffix that names the view. */
export interface ResourceReadOptions<A extends unknown[], R> extends CachedOptions<A, R> {
  /** Names this view of the entity: `suffix: 'profile'` names the reader's scope `user.profile`, so its keys are `user.profile:<id>`. */
  suffix?: string;
}

/** What a resource needs from its cache. @internal */
export interface ResourceHost {
  cached<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, options: CachedOptions<A, Awaited<R>>): CachedFunction<A, Awaited<R>>;
  invalidating<A extends unknown[], R>(
    fn: (...args: A) => R | PromiseLike<R>,
    options: InvalidatingOptions<A, Awaited<R>>,
  ): InvalidatingFunction<A, Awaited<R>>;
}

/**
 * Entity-based caching with standard keys and tags (see `cache.resource('user', 'userId')`): each reader
 * has a scope named `user.<suffix>` (or `user`), so its full keys are `user.<suffix>:<id>` (or
 * `user:<id>`), and tags its entries `user:<id>`; a writer invalidates every reader of that id.
 * The id is read from the call's object argument field (`'userId'`), or by position (`0`).
 *
 * @example
 * const user = cache.resource('user', 'userId');
 * const getProfile = user.cached(({ userId }: { userId: number }) => db.profile(userId), { suffix: 'profile' });
 * const updateUser = user.invalidating((input: { userId: number; name: string }) => db.update(input));
 */
export class Resource {
  /** The entity name, first segment of every key and tag. */
  readonly entity: string;
  readonly #id: string;
  readonly #host: ResourceHost;

  /** @internal use `cache.resource()` */
  constructor(host: ResourceHost, entity: string, idField: string | number) {
    if (typeof entity !== 'string' || entity === '' || /[{}]/.test(entity)) {
      throw new TypeError(`a resource name must be a non-empty string without braces, got ${describe(entity)}`);
    }
    if (!((typeof idField === 'string' && /^[^{}]+$/.test(idField)) || (Number.isInteger(idField) && (idField as number) >= 0))) {
      throw new TypeError(`a resource id must be a field name or an argument position, got ${describe(idField)}`);
    }
    this.#host = host;
    this.entity = entity;
    this.#id = `{${idField}}`;
  }

  /** The tag every entry of the entity with this id carries: `user:42` (the id written with `escapeKeyPart`). */
  tag(id: string | number): string {
    return `${this.entity}:${escapeKeyPart(id)}`;
  }

  /** A cached reader in scope `entity.suffix` (or `entity`), keyed by the id and tagged `entity:{id}`: full keys `user.profile:42`. */
  cached<A extends unknown[], R>(
    fn: (...args: A) => R | PromiseLike<R>,
    options: ResourceReadOptions<A, Awaited<R>> = {},
  ): CachedFunction<A, Awaited<R>> {
    const { suffix, ...rest } = options;
    if (suffix !== undefined && (typeof suffix !== 'string' || suffix === '')) {
      throw new TypeError(`\`suffix\` must be a non-empty string, got ${describe(suffix)}`);
    }
    // The scope (by default named after the entity and suffix) is the namespace; the local key is the id.
    const name = rest.name ?? (suffix === undefined ? this.entity : `${this.entity}.${suffix}`);
    // The entity tag is always there, so the resource's writers invalidate every reader; `tags` add to it.
    const own = `${this.entity}:${this.#id}`;
    const extra = rest.tags;
    let tags: CachedOptions<A, Awaited<R>>['tags'];
    if (typeof extra === 'function') {
      const fillOwn = compileTemplate(own, `tag template of resource \`${this.entity}\``);
      tags = (...args: A) => [fillOwn(args), ...extra(...args)];
    } else {
      tags = [own, ...(extra ?? [])];
    }
    return this.#host.cached(fn, { key: this.#id, ...rest, tags, name });
  }

  /** A writer that, after it succeeds, invalidates every reader of the entity with the call's id. */
  invalidating<A extends unknown[], R>(
    fn: (...args: A) => R | PromiseLike<R>,
    options: InvalidatingOptions<A, Awaited<R>> = {},
  ): InvalidatingFunction<A, Awaited<R>> {
    if (typeof options.tags === 'function') {
      throw new TypeError('a resource writer always invalidates its own tag: give extra `tags` as templates, not a function');
    }
    const tags = [`${this.entity}:${this.#id}`, ...(options.tags ?? [])];
    return this.#host.invalidating(fn, { ...options, tags });
  }
}
