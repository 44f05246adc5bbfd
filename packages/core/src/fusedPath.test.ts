// The fused path (Pipeline#retried): a call nobody listens to when it starts runs retry's first attempt,
// a closed breaker and the attempt timeout with one settlement. Each scenario runs twice, through the
// fused path and through the unfused one (a listener registered before each call makes the call
// observed, which takes cockatiel's retry from the first attempt), and everything a caller or the
// function can see must be the same: outcomes, attempts and their times, attempt signals, the breaker's
// state and the events of the call's course. (Only the unfused run reports outcomes: SUCCESS, FAILURE,
// RETRY_EXHAUSTED are the price of being observed, and are left out of the comparison.)
import { attemptSignal, ResilienceRegistry } from './index';
import type { ResilienceEvent } from './index';
import type { ResilientOptions } from './options/ResilientOptions';
import { Retry } from './policies/Retry';

/** What one attempt of the wrapped function does: settles after 10 ms, or never, or throws at once. */
type Act = 'ok' | 'fail' | 'ignored' | 'hang' | 'throw';

interface Step {
  /** The attempts of this call, in order (more attempts than listed fail). */
  readonly acts: readonly Act[];
  /** Aborts the caller's signal this many ms after the call (withSignal). */
  readonly abortAfterMs?: number;
  /** The call's argument (the cache key), the step's index by default. */
  readonly id?: number;
}

interface Scenario {
  readonly name: string;
  readonly options: ResilientOptions;
  readonly steps: readonly Step[];
  /** With retry: how many calls reach `Retry.execute`, fused (those that cannot fuse: a half-open circuit) and unfused. */
  readonly retryExecutes?: readonly [fused: number, unfused: number];
}

class IgnoredError extends Error {
  override name = 'IgnoredError';
}

const retry = { maxAttempts: 3, delay: 100, jitter: false } as const;
const breaker = { failureThreshold: 2, halfOpenAfter: 1_000 } as const;

const scenarios: Scenario[] = [
  {
    name: 'retry + breaker: success',
    options: { retry, circuitBreaker: breaker },
    steps: [{ acts: ['ok'] }, { acts: ['ok'] }],
    retryExecutes: [0, 2],
  },
  {
    name: 'retry + breaker + timeout: success',
    options: { retry, circuitBreaker: breaker, timeout: 50 },
    steps: [{ acts: ['ok'] }],
    retryExecutes: [0, 1],
  },
  { name: 'retry: a failure, then a success', options: { retry }, steps: [{ acts: ['fail', 'ok'] }], retryExecutes: [0, 1] },
  { name: 'breaker: failures open the circuit', options: { circuitBreaker: breaker }, steps: [{ acts: ['fail'] }, { acts: ['fail'] }, { acts: ['ok'] }] },
  {
    name: 'retry + breaker: a failure, then a success',
    options: { retry, circuitBreaker: { ...breaker, failureThreshold: 5 } },
    steps: [{ acts: ['fail', 'ok'] }, { acts: ['throw', 'ok'] }],
    retryExecutes: [0, 2],
  },
  {
    name: 'retry + breaker: exhausted, then the circuit opens and half-opens',
    options: { retry, circuitBreaker: { ...breaker, failureThreshold: 3 } },
    steps: [{ acts: ['fail', 'fail', 'fail'] }, { acts: ['ok'] }, { acts: ['ok'] }],
    retryExecutes: [1, 3], // the half-open trial cannot fuse
  },
  {
    name: 'retry + breaker + timeout: the first attempt times out',
    options: { retry, circuitBreaker: { ...breaker, failureThreshold: 5 }, timeout: 50 },
    steps: [{ acts: ['hang', 'ok'] }, { acts: ['hang', 'hang', 'hang'] }],
    retryExecutes: [0, 2],
  },
  {
    name: 'retry + timeout: a failure then a timeout then a success',
    options: { retry, timeout: 50 },
    steps: [{ acts: ['fail', 'hang', 'ok'] }],
    retryExecutes: [0, 1],
  },
  {
    name: 'breaker + timeout: timeouts open the circuit',
    options: { circuitBreaker: breaker, timeout: 50 },
    steps: [{ acts: ['hang'] }, { acts: ['hang'] }, { acts: ['ok'] }],
  },
  {
    name: 'ignoreOn: neither retried nor counted',
    options: { retry: { ...retry, ignoreOn: [IgnoredError] }, circuitBreaker: { ...breaker, failureThreshold: 1 }, timeout: 50 },
    steps: [{ acts: ['ignored'] }, { acts: ['ignored'] }, { acts: ['ok'] }],
    retryExecutes: [0, 3],
  },
  {
    name: 'ignoreOn without a timeout',
    options: { retry: { ...retry, ignoreOn: [IgnoredError] }, circuitBreaker: { ...breaker, failureThreshold: 1 } },
    steps: [{ acts: ['ignored'] }, { acts: ['fail', 'ok'] }],
    retryExecutes: [0, 2],
  },
  {
    name: 'retryOn: a failure it does not match is not retried',
    options: { retry: { ...retry, retryOn: [IgnoredError] }, circuitBreaker: breaker },
    steps: [{ acts: ['fail', 'ok'] }, { acts: ['ignored', 'ok'] }],
    retryExecutes: [0, 2],
  },
  {
    name: "the caller aborts the first attempt (retry + breaker + timeout)",
    options: { retry, circuitBreaker: breaker, timeout: 50 },
    steps: [{ acts: ['hang'], abortAfterMs: 5 }, { acts: ['ok'] }],
    retryExecutes: [0, 2],
  },
  {
    name: 'the caller aborts the first attempt (retry + breaker)',
    options: { retry, circuitBreaker: breaker },
    steps: [{ acts: ['hang'], abortAfterMs: 5 }, { acts: ['ok'] }],
    retryExecutes: [0, 2],
  },
  {
    name: 'the caller aborts during the retry wait',
    options: { retry, circuitBreaker: breaker, timeout: 50 },
    steps: [{ acts: ['fail', 'ok'], abortAfterMs: 40 }],
    retryExecutes: [0, 1],
  },
  {
    name: 'a cache in front of the full pipeline',
    options: { cache: { ttl: 60_000 }, retry, circuitBreaker: breaker, timeout: 50 },
    steps: [{ acts: ['fail', 'ok'], id: 0 }, { acts: [], id: 0 }, { acts: ['hang', 'ok'], id: 1 }],
    retryExecutes: [0, 2], // the second call is a hit
  },
];

/** Events that only an observed call reports: left out of the comparison. */
const OUTCOME_EVENTS = new Set(['SUCCESS', 'FAILURE', 'RETRY_EXHAUSTED']);

interface Trace {
  calls: unknown[];
  attempts: Array<{ call: number; at: number; aborted: boolean; reason: string | undefined }>;
  states: string[];
  events: unknown[];
  retryExecutes: number;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Runs `scenario`; `fused` leaves every call unobserved when it starts, else a listener makes it observed. */
async function run(scenario: Scenario, fused: boolean): Promise<Trace> {
  const trace: Trace = { calls: [], attempts: [], states: [], events: [], retryExecutes: 0 };
  const execute = jest.spyOn(Retry.prototype, 'execute');
  const registry = new ResilienceRegistry();
  const policy = registry.resilient(scenario.options);
  const t0 = Date.now();
  let callIndex = 0;
  let acts: Act[] = [];
  const signals: Array<{ call: number; at: number; signal: AbortSignal }> = [];
  const wrapped = policy(function load(id: number): Promise<string> {
    signals.push({ call: callIndex, at: Date.now() - t0, signal: attemptSignal() });
    const act = acts.shift() ?? 'fail';
    if (act === 'throw') throw new Error(`thrown ${id}`);
    return new Promise((resolve, reject) => {
      if (act === 'hang') return;
      setTimeout(() => {
        if (act === 'ok') resolve(`value ${id}`);
        else reject(act === 'ignored' ? new IgnoredError(`ignored ${id}`) : new Error(`failed ${id}`));
      }, 10);
    });
  });
  // Events of a call's synchronous start (CACHE_MISS, CIRCUIT_HALF_OPEN) come before the fused run's
  // listener: left out of both runs.
  let starting = false;
  const record = (event: ResilienceEvent) => {
    if (starting || OUTCOME_EVENTS.has(event.type)) return;
    const { type, functionName, key, attempt, error } = event as ResilienceEvent & { key?: string; attempt?: number; error?: unknown };
    trace.events.push({ type, at: Date.now() - t0, functionName, key, attempt, error: error === undefined ? undefined : describeError(error) });
  };
  let unsubscribe = fused ? () => undefined : policy.on('*', record);
  try {
    for (const [i, step] of scenario.steps.entries()) {
      callIndex = i;
      acts = [...step.acts];
      const controller = new AbortController();
      if (step.abortAfterMs !== undefined) setTimeout(() => controller.abort(new Error('caller gave up')), step.abortAfterMs);
      starting = true;
      const id = step.id ?? i;
      const call = step.abortAfterMs === undefined ? wrapped(id) : wrapped.withSignal(controller.signal)(id);
      starting = false;
      if (fused) unsubscribe = policy.on('*', record); // after the call started: it stays unobserved
      const settled = call.then(
        (value) => ({ value, at: Date.now() - t0 }),
        (error: unknown) => ({ error: describeError(error), at: Date.now() - t0 }),
      );
      await jest.advanceTimersByTimeAsync(2_000);
      trace.calls.push(await settled);
      trace.states.push(policy.circuitBreaker?.state ?? 'none');
      if (fused) unsubscribe();
    }
  } finally {
    unsubscribe();
    trace.retryExecutes = execute.mock.calls.length;
    execute.mockRestore();
  }
  trace.attempts = signals.map(({ call, at, signal }) => ({
    call,
    at,
    aborted: signal.aborted,
    reason: signal.aborted ? describeError(signal.reason) : undefined,
  }));
  return trace;
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('the fused path behaves exactly as the unfused one', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    const fused = await run(scenario, true);
    const unfused = await run(scenario, false);
    const { retryExecutes: fusedExecutes, ...seenFused } = fused;
    const { retryExecutes: unfusedExecutes, ...seenUnfused } = unfused;
    expect(seenFused).toEqual(seenUnfused);
    // The two runs did take different paths: the observed calls went through Retry.execute, the others not.
    expect([fusedExecutes, unfusedExecutes]).toEqual(scenario.retryExecutes ?? [0, 0]);
  });
});

describe('the fused path, pinned', () => {
  it('retry + breaker + timeout: a timed-out first attempt is retried, its signal aborted with the TimeoutError', async () => {
    const trace = await run(scenarios.find((s) => s.name === 'retry + breaker + timeout: the first attempt times out')!, true);
    const timedOut = (attempt: number) => `TimeoutError: load took longer than 50 ms (attempt ${attempt})`;
    // Call 0: attempt 1 times out at 50, the retry waits 100, attempt 2 succeeds at 160. Call 1 (at
    // 2000): three timeouts, with waits of 100 and 200 between them.
    expect(trace.calls).toEqual([
      { value: 'value 0', at: 160 },
      { error: timedOut(3), at: 2_000 + 50 + 100 + 50 + 200 + 50 },
    ]);
    expect(trace.attempts).toEqual([
      { call: 0, at: 0, aborted: true, reason: timedOut(1) },
      { call: 0, at: 150, aborted: false, reason: undefined },
      { call: 1, at: 2_000, aborted: true, reason: timedOut(1) },
      { call: 1, at: 2_150, aborted: true, reason: timedOut(2) },
      { call: 1, at: 2_400, aborted: true, reason: timedOut(3) },
    ]);
    expect(trace.events.map((e) => (e as { type: string }).type)).toEqual(['TIMEOUT', 'RETRY', 'TIMEOUT', 'RETRY', 'TIMEOUT', 'RETRY', 'TIMEOUT']);
    expect(trace.states).toEqual(['closed', 'closed']);
  });
});
