// Run by noPromiseHooks.test.ts in a child process of its own (`node --import tsx promiseHooksProbe.ts
// <kind>`), because Jest itself turns Node's promise hooks on: one kind of resilient() call runs, then a
// fresh promise's own symbols are printed as JSON. With promise hooks on (an AsyncLocalStorage that was
// ever `run()`, an async_hooks hook), Node 20 tags every new promise with `async_id_symbol`,
// `trigger_async_id_symbol` and `kResourceStore`; with them off a promise has no own symbols.
import { ResilienceRegistry, attemptSignal, currentAttempt } from '../src/index';

const symbolsOf = (promise: Promise<unknown>) => Object.getOwnPropertySymbols(promise).map(String);
const settle = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error: error instanceof Error ? error.name : String(error) }),
  );

/** One exercise per kind; each returns what it observed, so the test can check it really ran. */
const kinds: Record<string, (registry: ResilienceRegistry) => Promise<unknown>> = {
  'cache miss': async (r) => [await settle(r.resilient({ cache: {} })(async (n: number) => n + 1)(1))],
  'cache hit': async (r) => {
    const f = r.resilient({ cache: { key: (n: number) => `n${n}` } })(async (n: number) => n + 1);
    await f.cache?.scope.set('n1', 7); // the entry is there without a load (a miss)
    return [await settle(f(1)), f.cache?.scope.stats().hits];
  },
  retry: async (r) => {
    let calls = 0;
    const f = r.resilient({ retry: { maxAttempts: 3, delay: 1 } })(async (n: number) => {
      if (++calls < 3) throw new Error('flaky');
      return n + calls;
    });
    return [await settle(f(1)), calls];
  },
  timeout: async (r) => {
    const policy = r.resilient({ timeout: 20 });
    const fast = policy(async (n: number) => n + 1);
    const slow = policy(() => new Promise<number>((resolve) => setTimeout(resolve, 1_000, 0).unref()));
    return [await settle(fast(1)), await settle(slow())];
  },
  'per-call timeout': async (r) => [await settle(r.resilient({ timeout: { after: 20, perAttempt: false }, retry: { delay: 1 } })(async () => 5)())],
  'circuit breaker': async (r) => {
    const f = r.resilient({ circuitBreaker: { failureThreshold: 2, halfOpenAfter: '1m' } })(async (): Promise<number> => {
      throw new Error('down');
    });
    return [await settle(f()), await settle(f()), await settle(f()), f.circuitBreaker?.state];
  },
  fallback: async (r) => [
    await settle(r.resilient({ fallback: (error: unknown) => `fallback for ${(error as Error).message}` })(async (): Promise<string> => {
      throw new Error('boom');
    })()),
  ],
  bulkhead: async (r) => {
    const f = r.resilient({ bulkhead: { maxConcurrent: 1, maxQueue: 1 } })(async (n: number) => n * 2);
    return Promise.all([settle(f(1)), settle(f(2)), settle(f(3))]);
  },
  'rate limiter': async (r) => {
    const f = r.resilient({ rateLimiter: { maxCalls: 1, period: '1m' } })(async (n: number) => n * 2);
    return [await settle(f(1)), await settle(f(2))];
  },
  'attempt context': async (r) => {
    const f = r.resilient({ timeout: '1s', retry: { maxAttempts: 2, delay: 1 } })(async () => {
      const { attempt } = currentAttempt() ?? { attempt: 0 };
      const aborted = attemptSignal().aborted;
      if (attempt === 1) throw new Error('first');
      return { attempt, aborted };
    });
    return [await settle(f())];
  },
  'withContext': async (r) => {
    const f = r.resilient({ timeout: '1s' }).withContext(async ({ signal, attempt }, n: number) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return { n, attempt, aborted: signal.aborted };
    });
    return [await settle(f(3))];
  },
  'caller signal': async (r) => {
    const controller = new AbortController();
    const f = r.resilient({ retry: { maxAttempts: 2, delay: '1m' } })(async (): Promise<number> => {
      throw new Error('retry me');
    });
    const call = settle(f.withSignal(controller.signal)());
    setTimeout(() => controller.abort(), 5);
    return [await call];
  },
  'full pipeline with listeners': async (r) => {
    const events: string[] = [];
    let calls = 0;
    const f = r.resilient({
      cache: {},
      retry: { maxAttempts: 3, delay: 1 },
      circuitBreaker: { failureThreshold: 5, halfOpenAfter: '10s' },
      timeout: '1s',
      fallback: 0,
      bulkhead: { maxConcurrent: 4 },
      rateLimiter: { maxCalls: 100, period: '1s' },
      onEvent: (e) => events.push(e.type),
    })(async (n: number) => {
      if (++calls === 1) throw new Error('flaky');
      return n + 1;
    });
    return [await settle(f(1)), await settle(f(1)), events];
  },
};

const kind = process.argv[2] ?? '';
const exercise = kinds[kind];
if (exercise === undefined) throw new Error(`unknown kind ${JSON.stringify(kind)}: one of ${Object.keys(kinds).join(', ')}`);
const before = symbolsOf(Promise.resolve());
const observed = await exercise(new ResilienceRegistry({ onListenerError: () => undefined }));
const after = symbolsOf(Promise.resolve());
process.stdout.write(`${JSON.stringify({ before, after, observed })}\n`);
