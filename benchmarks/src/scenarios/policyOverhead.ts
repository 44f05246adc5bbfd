// 6. Policy overhead: retry + circuit breaker (+ timeout) around a trivial async function, per call, with
// every call succeeding (the path every healthy call pays). Ours is resilient({ retry, circuitBreaker,
// timeout }) and resilient({ retry, circuitBreaker }) without a cache; the peers are cockatiel's own
// wrap(retry, breaker, timeout) and wrap(retry, breaker), and opossum.
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleAll, retry, timeout, TimeoutStrategy, wrap } from 'cockatiel';
import CircuitBreaker from 'opossum';
import { resilient } from '@toolkit/core';
import { throughput, throughputRounds } from '../harness/interleave';
import type { Summary } from '../harness/interleave';
import { atLeast } from '../harness/targets';
import type { Metric, Row, Scenario } from '../harness/types';

const metric: Metric = { unit: 'µs/call', higherIsBetter: false };
const BARE = 'reference: the bare async fn';

const OURS = 'ours: resilient({ retry, circuitBreaker, timeout })';
const COCKATIEL = 'cockatiel wrap(retry, breaker, timeout)';
const OURS_NO_TIMEOUT = 'ours: resilient({ retry, circuitBreaker })';
const COCKATIEL_NO_TIMEOUT = 'cockatiel wrap(retry, breaker)';
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

    // The same two without a timeout: what the policies themselves cost.
    const oursNoTimeout = resilient({
      retry: { maxAttempts: 3, delay: 10 },
      circuitBreaker: { failureThreshold: 5, halfOpenAfter: '10s' },
    })(fn);
    const cockatielNoTimeout = wrap(
      retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 10 }) }),
      circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
    );
    const viaCockatielNoTimeout = (n: number) => cockatielNoTimeout.execute(() => fn(n));

    // opossum is a breaker with its own timeout; retry comes from cockatiel, as users combine them.
    const breaker = new CircuitBreaker(fn, { timeout: 1_000, errorThresholdPercentage: 50, resetTimeout: 10_000 });
    const opossumRetry = retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 10 }) });
    const viaOpossum = (n: number) => opossumRetry.execute(() => breaker.fire(n));

    const summaries = await throughput(
      [
        { name: OURS, ours: true, async: true, op: (i: number) => ours(i) },
        { name: COCKATIEL, async: true, op: viaCockatiel },
        { name: OURS_NO_TIMEOUT, ours: true, async: true, op: (i: number) => oursNoTimeout(i) },
        { name: COCKATIEL_NO_TIMEOUT, async: true, op: viaCockatielNoTimeout },
        { name: OPOSSUM, async: true, op: viaOpossum },
        { name: BARE, async: true, op: fn },
      ],
      throughputRounds(quick),
    );
    breaker.shutdown();
    // Whether promise hooks were on while this ran (an earlier scenario or a peer may have turned them
    // on): every row would then pay for them. See the process-cost scenario.
    const hooksOn = Object.getOwnPropertySymbols(Promise.resolve()).length > 0;
    const rows = summaries.map(perCall);
    const bare = rows.find((r) => r.name === BARE)?.median ?? 0;
    const net = (name: string) => (rows.find((r) => r.name === name)?.median ?? 0) - bare;
    return {
      id: 'policy-overhead',
      title: '6. Policy overhead',
      workload:
        'retry (3 attempts) + circuit breaker (5 consecutive failures), with and without a timeout (1 s, aggressive), around `async (n) => n + 1`, every call succeeding, each awaited before the next.',
      metric,
      rows,
      targets: [
        atLeast(rows, metric, OURS, COCKATIEL, 2, "≤ 0.5× the per-call cost of cockatiel's wrap(retry, breaker, timeout)"),
        atLeast(rows, metric, OURS_NO_TIMEOUT, COCKATIEL_NO_TIMEOUT, 1, "without a timeout: ≤ 1.0× the per-call cost of cockatiel's wrap(retry, breaker)"),
      ],
      notes: [
        "cockatiel: retry(handleAll, { maxAttempts: 2 }) — its maxAttempts counts retries, ours counts calls, so both make at most 3 calls.",
        'opossum: errorThresholdPercentage 50 and resetTimeout 10 s (its README\'s example values), timeout 1 s; retry from cockatiel around breaker.fire().',
        'The reference row is the function itself, awaited: the floor every wrapper adds its cost to. ' +
          `Net of it, per call: ours ${net(OURS_NO_TIMEOUT).toFixed(3)} µs vs cockatiel ${net(COCKATIEL_NO_TIMEOUT).toFixed(3)} µs without a timeout, ` +
          `ours ${net(OURS).toFixed(3)} µs vs cockatiel ${net(COCKATIEL).toFixed(3)} µs with one.`,
        hooksOn
          ? 'Promise hooks were ON in this process while it ran (something earlier turned them on): every row paid for them.'
          : 'Promise hooks were off in this process while it ran (a new promise had no async-hook symbols at the end).',
      ],
    };
  },
};
