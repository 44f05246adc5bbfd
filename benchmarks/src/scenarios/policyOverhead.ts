// 6. Policy overhead: retry + circuit breaker + timeout around a trivial async function, per call, with
// every call succeeding (the path every healthy call pays). Ours is resilient({ retry, circuitBreaker,
// timeout }) without a cache; the peers are cockatiel's own wrap(retry, breaker, timeout) and opossum.
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleAll, retry, timeout, TimeoutStrategy, wrap } from 'cockatiel';
import CircuitBreaker from 'opossum';
import { resilient } from '@toolkit/core';
import { throughput, throughputRounds } from '../harness/interleave';
import type { Summary } from '../harness/interleave';
import { atLeast } from '../harness/targets';
import type { Metric, Row, Scenario } from '../harness/types';

const metric: Metric = { unit: 'µs/call', higherIsBetter: false };

const OURS = 'ours: resilient({ retry, circuitBreaker, timeout })';
const COCKATIEL = 'cockatiel wrap(retry, breaker, timeout)';
const OPOSSUM = 'opossum (breaker + timeout) with cockatiel retry';

/** Calls per second → µs per call; the slowest sample becomes the max. */
function perCall(s: Summary): Row {
  return { name: s.name, ours: s.ours, median: 1e6 / s.median, min: 1e6 / s.max, max: 1e6 / s.min };
}

export const policyOverhead: Scenario = {
  id: 'policy-overhead',
  async run({ quick }) {
    const fn = async (n: number) => n + 1;

    const ours = resilient({
      retry: { maxAttempts: 3, delay: 10 },
      circuitBreaker: { failureThreshold: 5, halfOpenAfter: '10s' },
      timeout: '1s',
    })(fn);

    // cockatiel, as its README composes the three: retry outermost, timeout innermost (per attempt).
    const cockatiel = wrap(
      retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 10 }) }),
      circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
      timeout(1_000, TimeoutStrategy.Aggressive),
    );
    const viaCockatiel = (n: number) => cockatiel.execute(() => fn(n));

    // opossum is a breaker with its own timeout; retry comes from cockatiel, as users combine them.
    const breaker = new CircuitBreaker(fn, { timeout: 1_000, errorThresholdPercentage: 50, resetTimeout: 10_000 });
    const opossumRetry = retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 10 }) });
    const viaOpossum = (n: number) => opossumRetry.execute(() => breaker.fire(n));

    const summaries = await throughput(
      [
        { name: OURS, ours: true, async: true, op: (i: number) => ours(i) },
        { name: COCKATIEL, async: true, op: viaCockatiel },
        { name: OPOSSUM, async: true, op: viaOpossum },
        { name: 'reference: the bare async fn', async: true, op: fn },
      ],
      throughputRounds(quick),
    );
    breaker.shutdown();
    const rows = summaries.map(perCall);
    return {
      id: 'policy-overhead',
      title: '6. Policy overhead',
      workload:
        'retry (3 attempts) + circuit breaker (5 consecutive failures) + timeout (1 s, aggressive) around `async (n) => n + 1`, every call succeeding, each awaited before the next.',
      metric,
      rows,
      targets: [atLeast(rows, metric, OURS, COCKATIEL, 2, "≤ 0.5× the per-call cost of cockatiel's wrap(retry, breaker, timeout)")],
      notes: [
        "cockatiel: retry(handleAll, { maxAttempts: 2 }) — its maxAttempts counts retries, ours counts calls, so both make at most 3 calls.",
        'opossum: errorThresholdPercentage 50 and resetTimeout 10 s (its README\'s example values), timeout 1 s; retry from cockatiel around breaker.fire().',
        'The reference row is the function itself, awaited: the floor every wrapper adds its cost to.',
      ],
    };
  },
};
