// The cost of each resilience layer on a call that runs the function (no cache), side by side with
// cockatiel used directly, in one process run. Run: pnpm --filter @toolkit/benchmarks bench:miss
import { ResilienceRegistry } from '@toolkit/core';
import { ConsecutiveBreaker, TimeoutStrategy, circuitBreaker, handleAll, retry, timeout, wrap } from 'cockatiel';
import { Bench } from 'tinybench';

const fn = async (n: number) => n + 1;
const registry = new ResilienceRegistry();
const none = registry.resilient({})(fn);
const withRetry = registry.resilient({ retry: { maxAttempts: 3 } })(fn);
const withBreaker = registry.resilient({ circuitBreaker: { failureThreshold: 5 } })(fn);
const withTimeout = registry.resilient({ timeout: '1s' })(fn);
const all = registry.resilient({ retry: { maxAttempts: 3 }, circuitBreaker: { failureThreshold: 5 }, timeout: '1s' })(fn);

const cRetry = retry(handleAll, { maxAttempts: 2 });
const cTimeout = timeout(1000, TimeoutStrategy.Aggressive);
const cAll = wrap(cRetry, circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }), cTimeout);

let i = 0;
const bench = new Bench({ time: 1_000, warmup: true });
bench
  .add('plain async fn', async () => void (await fn(i++)))
  .add('resilient({})', async () => void (await none(i++)))
  .add('resilient({ retry })', async () => void (await withRetry(i++)))
  .add('resilient({ circuitBreaker })', async () => void (await withBreaker(i++)))
  .add('resilient({ timeout })', async () => void (await withTimeout(i++)))
  .add('resilient({ retry, circuitBreaker, timeout })', async () => void (await all(i++)))
  .add('cockatiel retry.execute', async () => void (await cRetry.execute(() => fn(i++))))
  .add('cockatiel timeout.execute', async () => void (await cTimeout.execute(() => fn(i++))))
  .add('cockatiel wrap(retry, breaker, timeout)', async () => void (await cAll.execute(() => fn(i++))));

await bench.run();
console.table(
  bench.tasks.map((t) => {
    const r = t.result as unknown as { throughput?: { mean: number }; latency?: { mean: number } } | undefined;
    return { task: t.name, 'ops/s': Math.round(r?.throughput?.mean ?? 0).toLocaleString('en'), 'mean (µs)': ((r?.latency?.mean ?? 0) * 1e3).toFixed(2) };
  }),
);
