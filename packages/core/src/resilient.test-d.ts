// Type tests: checked by `pnpm typecheck` (tsc), never run. A function wrapped by resilient() keeps its
// parameter types and returns a promise of its awaited result; misuse is a compile error.
import { resilient, resilientMethod, ResilienceRegistry } from './index';
import type {
  Bulkhead,
  CircuitBreaker,
  CircuitStateName,
  RateLimiterPolicy,
  ResiliencePolicy,
  ResilienceEvent,
  ResilientFunction,
  AttemptContext,
} from './index';
import type { CachedFunction, CacheScope, CacheStats } from '@toolkit/cache';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_proof?: T) => undefined;

const registry = new ResilienceRegistry();
interface User {
  id: number;
  name: string;
}
declare function fetchUser(id: number, opts?: { fields: string[] }): Promise<User>;

// Parameters are kept, names and optionality included; the result is a promise of the awaited result.
const getUser = registry.resilient({ retry: { maxAttempts: 3 }, timeout: '2s' })(fetchUser);
assertType<Equal<Parameters<typeof getUser>, [id: number, opts?: { fields: string[] }]>>();
assertType<Equal<ReturnType<typeof getUser>, Promise<User>>>();
assertType<Equal<typeof getUser, ResilientFunction<[id: number, opts?: { fields: string[] }], User>>>();

// A synchronous function becomes asynchronous; a _thenable or a _nested promise is awaited once.
const _square = registry.resilient({})((n: number) => n * n);
assertType<Equal<typeof _square, ResilientFunction<[n: number], number>>>();
const _thenable = registry.resilient({})((): PromiseLike<boolean> => Promise.resolve(true));
assertType<Equal<ReturnType<typeof _thenable>, Promise<boolean>>>();
const _nested = registry.resilient({})(async () => Promise.resolve('x' as const));
assertType<Equal<ReturnType<typeof _nested>, Promise<'x'>>>();
const noArgs = registry.resilient({})(async () => undefined);
assertType<Equal<Parameters<typeof noArgs>, []>>();
// Rest and generic-free tuple parameters survive.
const _sum = registry.resilient({})((...values: number[]) => values.reduce((a, b) => a + b, 0));
assertType<Equal<Parameters<typeof _sum>, number[]>>();

// The module-level resilient() gives the same types.
const _viaDefault = resilient({ retry: { maxAttempts: 2 } })(fetchUser);
assertType<Equal<typeof _viaDefault, typeof getUser>>();

// withContext(fn): fn takes the attempt's context first; the wrapped function takes only the call's arguments.
const withCtx = registry.resilient({ timeout: '2s' }).withContext(async (context: AttemptContext, id: number, opts?: { fields: string[] }) => {
  assertType<Equal<typeof context.signal, AbortSignal>>();
  assertType<Equal<typeof context.attempt, number>>();
  return fetchUser(id, opts);
});
assertType<Equal<typeof withCtx, ResilientFunction<[id: number, opts?: { fields: string[] }], User>>>();
// @ts-expect-error the caller does not pass the context
void withCtx({ signal: new AbortController().signal, attempt: 1, functionName: 'f' }, 1);
const _inferred = registry.resilient({ fallback: null }).withContext(async (context, id: number) => ({ id, attempt: context.attempt }));
assertType<Equal<typeof _inferred, ResilientFunction<[id: number], { id: number; attempt: number } | null>>>();

// withSignal(signal) returns a function of the same signature.
const signalled = getUser.withSignal(new AbortController().signal);
assertType<Equal<typeof signalled, (id: number, opts?: { fields: string[] }) => Promise<User>>>();
assertType<Equal<Parameters<typeof signalled>, Parameters<typeof getUser>>>();

// Wrong arguments are errors, on the function and on withSignal.
// @ts-expect-error wrong argument type
void getUser('42');
// @ts-expect-error missing argument
void getUser();
// @ts-expect-error too many arguments
void getUser(1, { fields: [] }, 'extra');
// @ts-expect-error wrong type inside an object argument
void getUser(1, { fields: [1] });
// @ts-expect-error wrong argument type through withSignal
void signalled('42');
// @ts-expect-error withSignal takes an AbortSignal
void getUser.withSignal('abort');
// @ts-expect-error the result is a User, not a string
const _notString: Promise<string> = getUser(1);

// What the wrapped function exposes, typed.
const cachedUser = registry.resilient({ cache: { ttl: '1m' }, circuitBreaker: { failureThreshold: 3 } })(fetchUser);
assertType<Equal<typeof cachedUser.cache, CachedFunction<[id: number, opts?: { fields: string[] }], User> | undefined>>();
assertType<Equal<ReturnType<NonNullable<typeof cachedUser.cache>['keyFor']>, string>>();
assertType<Equal<NonNullable<typeof cachedUser.cache>['scope'], CacheScope<User>>>();
assertType<Equal<ReturnType<NonNullable<typeof cachedUser.cache>['scope']['stats']>, CacheStats>>();
// @ts-expect-error keyFor takes the function's arguments
void cachedUser.cache?.keyFor('1');
assertType<Equal<typeof cachedUser.circuitBreaker, CircuitBreaker | undefined>>();
assertType<Equal<NonNullable<typeof cachedUser.circuitBreaker>['state'], CircuitStateName>>();
assertType<Equal<CircuitStateName, 'closed' | 'open' | 'half-open' | 'isolated'>>();
assertType<Equal<typeof cachedUser.bulkhead, Bulkhead | undefined>>();
assertType<Equal<typeof cachedUser.rateLimiter, RateLimiterPolicy | undefined>>();
assertType<Equal<typeof cachedUser.functionName, string>>();
cachedUser.circuitBreaker?.isolate();
cachedUser.circuitBreaker?.reset();
// @ts-expect-error the breaker is read-only on the function
cachedUser.circuitBreaker = undefined;
declare const breaker: CircuitBreaker;
// @ts-expect-error state is read-only (a getter)
breaker.state = 'open';

// A key function and a key template are checked against the function's parameters.
registry.resilient({ cache: { key: (id: number, lang: string) => `${id.toFixed(0)}:${lang.toUpperCase()}` } })(
  async (id: number, lang: string) => `${id}${lang}`,
);
// @ts-expect-error the key function expects a string id, the function takes a number
registry.resilient({ cache: { key: (id: string) => id } })(async (id: number) => id);
registry.resilient({ cache: { key: 'user:{id}' } })(async (query: { id: number }) => query.id);

// A shared scope is typed by its values: the function must produce them.
const names = registry.cache.scope<string>('names');
declare function lookupName(id: number): Promise<string>;
const nameOf = registry.resilient({ cache: names })(lookupName);
assertType<Equal<ReturnType<typeof nameOf>, Promise<string>>>();
// @ts-expect-error a number-returning function cannot store into a scope of strings
registry.resilient({ cache: names })(async (id: number) => id);

// A fallback's type joins the result type (the call may answer with it), whatever the function returns.
const _orNumber = registry.resilient({ fallback: 42 })(fetchUser);
assertType<Equal<ReturnType<typeof _orNumber>, Promise<User | number>>>();
const _orNull = registry.resilient({ fallback: () => null })(fetchUser);
assertType<Equal<ReturnType<typeof _orNull>, Promise<User | null>>>();
const _listOrEmpty = registry.resilient({ fallback: [] })(async () => ['a', 'b']);
assertType<Equal<ReturnType<typeof _listOrEmpty>, Promise<string[] | never[]>>>();
// With explicit types, the fallback must be of the third one.
// @ts-expect-error 42 is not a User
registry.resilient<[id: number], User, User>({ fallback: 42 });
registry.resilient({ fallback: { id: 0, name: 'nobody' } })(fetchUser);
registry.resilient<[id: number], User, User>({
  fallback: { handler: (_error, [id]) => ({ id: id + 0, name: 'nobody' }), cacheFallback: false },
})(async (id: number) => ({ id, name: 'x' }));
registry.resilient<[id: number], User, User>({ fallback: async (_error, args) => ({ id: args[0], name: 'late' }) })(fetchUser);

// Options are checked.
// @ts-expect-error unknown option
registry.resilient({ retries: 3 });
// @ts-expect-error maxAttempts is a number
registry.resilient({ retry: { maxAttempts: '3' } });
// @ts-expect-error timeout.after is required
registry.resilient({ timeout: { perAttempt: false } });
registry.resilient({ timeout: { after: '2s', perAttempt: false }, bulkhead: { maxConcurrent: 2 }, rateLimiter: { maxCalls: 5, period: '1s' } });

// Events: one map of type → event; listeners are typed by the type they listen to.
registry.on('RETRY', (event) => {
  void event;
  assertType<Equal<typeof event.type, 'RETRY'>>();
  assertType<Equal<typeof event.delayMs, number>>();
  assertType<Equal<typeof event.key, string | undefined>>();
  assertType<Equal<typeof event.attempt, number | undefined>>();
  assertType<Equal<typeof event.durationMs, number | undefined>>();
  assertType<Equal<typeof event.at, number>>();
  assertType<Equal<typeof event.functionName, string>>();
});
registry.on('*', (event) => {
  assertType<Equal<typeof event, ResilienceEvent>>();
  if (event.type === 'CIRCUIT_OPEN') assertType<Equal<typeof event.isolated, boolean>>();
});
// @ts-expect-error unknown event type
registry.on('CACHE_HITS', () => undefined);
// @ts-expect-error SUCCESS has no delayMs
registry.on('SUCCESS', (event) => event.delayMs);
const policy = registry.resilient({ name: 'typed' });
assertType<Equal<typeof policy, ResiliencePolicy<unknown[], unknown>>>();
policy.on('CACHE_STALE_HIT', (_event) => assertType<Equal<typeof _event.reason, string>>());

// A decorated async method keeps its type; a synchronous one cannot be decorated (its type would change).
class Service {
  @resilientMethod({ retry: { maxAttempts: 2 } }, registry)
  async find(id: number): Promise<User> {
    return { id, name: 'x' };
  }
}
assertType<Equal<ReturnType<Service['find']>, Promise<User>>>();
assertType<Equal<Parameters<Service['find']>, [id: number]>>();
class SyncService {
  // @ts-expect-error the decorated method would return Promise<number>, not number
  @resilientMethod({}, registry)
  count(): number {
    return 1;
  }
}

void assertType;
void [SyncService, nameOf, noArgs];
