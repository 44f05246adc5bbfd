// Type tests: checked by `pnpm typecheck` (tsc), never run. A wrapped function keeps its parameter and
// result types; misuse is a compile error.
import { Cache } from './Cache';
import type { CachedFunction } from './cached';
import { uncached } from './uncached';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_proof?: T) => undefined;

const cache = new Cache();

const getUser = cache.cached(async (id: number, opts?: { fields: string[] }) => ({ id, name: 'x', opts }));
assertType<Equal<Parameters<typeof getUser>, [id: number, opts?: { fields: string[] }]>>();
assertType<Equal<ReturnType<typeof getUser>, Promise<{ id: number; name: string; opts: { fields: string[] } | undefined }>>>();

// A synchronous function becomes asynchronous: the cache may sit on a shared store.
const _square = cache.cached((n: number) => n * n);
assertType<Equal<typeof _square, CachedFunction<[n: number], number>>>();

// @ts-expect-error wrong argument type
void getUser('42');
// @ts-expect-error missing argument
void getUser();

// Key functions see the real parameter types.
cache.cached(async (id: number, _lang: string) => id, { key: (id, lang) => `${id.toFixed(0)}:${lang.toUpperCase()}` });

// Scopes are typed by their values.
const users = cache.scope<{ name: string }>('typed-users');
// @ts-expect-error value of the wrong type
void users.set('k', { nme: 'typo' });
void users.getOrSet('k', async () => ({ name: 'ann' }));

// A function that sometimes answers uncached(value) keeps its plain result type.
const _quote = cache.cached(async (id: number) => (id > 0 ? id * 2 : uncached(0)));
assertType<Equal<ReturnType<typeof _quote>, Promise<number>>>();

void assertType;

// A scope of a specific value type is usable where any scope is expected.
const _anyScope: import('./CacheScope').CacheScope<unknown> = users;
