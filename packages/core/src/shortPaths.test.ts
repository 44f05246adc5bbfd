// A call nobody listens to takes the short paths: a pipeline without policies runs the function itself
// (no call state), retry runs a first attempt outside cockatiel and hands only a failure to it, and a
// closed breaker runs the attempt outside cockatiel and hands only a failure to it. Outcomes, attempts
// and breaker counts must be what the long paths give.
import { attemptSignal, currentAttempt, EventType, isCircuitOpenError, ResilienceRegistry } from './index';
import type { AttemptContext } from './index';
import { recordedPipeline } from '../test/recordedPipeline';
import { rejection, track } from '../test/outcome';
import { watchUnhandledRejections } from '../test/unhandledRejections';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const { expectNoUnhandledRejection } = watchUnhandledRejections();

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('a pipeline without policies, nobody listening', () => {
  it('runs the function at once as attempt 1, with a signal that never aborts, and its own promise', async () => {
    const policy = new ResilienceRegistry().resilient({});
    const seen: Array<{ attempt: number | undefined; functionName: string | undefined; aborted: boolean; same: boolean }> = [];
    const double = policy(async function double(n: number) {
      const attempt = currentAttempt();
      seen.push({ attempt: attempt?.attempt, functionName: attempt?.functionName, aborted: attemptSignal().aborted, same: attempt?.signal === attemptSignal() });
      await sleep(1);
      return n * 2;
    });
    const call = double(21);
    expect(seen).toEqual([{ attempt: 1, functionName: 'double', aborted: false, same: true }]); // started in the call's tick
    await jest.advanceTimersByTimeAsync(1);
    await expect(call).resolves.toBe(42);
    expect(currentAttempt()).toBeUndefined();
  });

  it('turns a synchronous throw into a rejection, and passes `this` and the context (withContext)', async () => {
    const policy = new ResilienceRegistry().resilient({});
    const boom = policy((): number => {
      throw new Error('sync boom');
    });
    expect(await rejection(boom())).toEqual(new Error('sync boom'));
    const owner = { base: 1 };
    let context: AttemptContext | undefined;
    const add = policy.withContext(function (this: { base: number }, c: AttemptContext, n: number) {
      context = c;
      return this.base + n;
    });
    await expect(add.call(owner, 2)).resolves.toBe(3);
    expect(context).toEqual({ signal: expect.any(AbortSignal), attempt: 1, functionName: 'anonymous' });
    expect(context?.signal.aborted).toBe(false);
    // Every call without a caller's signal has this same attempt: one frozen object per wrapped function.
    const first = context;
    await add.call(owner, 3);
    expect(context).toBe(first);
    expect(Object.isFrozen(context)).toBe(true);
  });

  it("gives the function the caller's signal (withSignal), and starts nothing for an aborted one", async () => {
    const policy = new ResilienceRegistry().resilient({});
    let runs = 0;
    let signal: AbortSignal | undefined;
    const fn = policy(async () => {
      runs++;
      signal = attemptSignal();
      await sleep(100);
      return 'done';
    });
    const controller = new AbortController();
    const call = track(fn.withSignal(controller.signal)());
    expect(signal).toBe(controller.signal);
    controller.abort(new Error('caller gave up'));
    expect(await call.outcome).toEqual({ ok: false, error: new Error('caller gave up') });
    const aborted = AbortSignal.abort(new Error('too late'));
    expect(await rejection(fn.withSignal(aborted)())).toEqual(new Error('too late'));
    expect(runs).toBe(1);
    await jest.advanceTimersByTimeAsync(100);
    await expectNoUnhandledRejection();
  });

  it('with a cache: the miss runs the function once as attempt 1, the hit does not run it', async () => {
    const policy = new ResilienceRegistry().resilient({ cache: { ttl: '1m' } });
    const attempts: Array<number | undefined> = [];
    const find = policy(async function find(id: number) {
      attempts.push(currentAttempt()?.attempt);
      return { id };
    });
    await expect(find(7)).resolves.toEqual({ id: 7 });
    await expect(find(7)).resolves.toEqual({ id: 7 });
    expect(attempts).toEqual([1]);
    expect(find.cache?.scope.stats()).toMatchObject({ hits: 1, misses: 1, size: 1 });
  });

  it('reports SUCCESS and FAILURE once someone listens (the long path)', async () => {
    const registry = new ResilienceRegistry();
    const policy = registry.resilient({});
    let fail = false;
    const fn = policy(async function fn() {
      if (fail) throw new Error('no');
      return 1;
    });
    await fn(); // nobody listens: no event
    const types: string[] = [];
    const off = registry.on('*', (e) => types.push(e.type));
    await fn();
    fail = true;
    await rejection(fn());
    off();
    expect(types).toEqual([EventType.SUCCESS, EventType.FAILURE]);
  });
});

describe('retry, nobody listening', () => {
  it('a first success runs once; failures are retried by cockatiel with the same errors, up to maxAttempts', async () => {
    const policy = new ResilienceRegistry().resilient({ retry: { maxAttempts: 3, delay: 10, jitter: false } });
    let calls = 0;
    const attempts: Array<number | undefined> = [];
    const flaky = policy(async (failures: number) => {
      attempts.push(currentAttempt()?.attempt);
      if (++calls <= failures) throw new Error(`failure ${calls}`);
      return calls;
    });
    await expect(flaky(0)).resolves.toBe(1);
    expect(attempts).toEqual([1]);

    calls = 0;
    attempts.length = 0;
    const twice = track(flaky(2));
    await jest.advanceTimersByTimeAsync(9);
    expect(calls).toBe(1); // the first retry waits 10 ms (delay 10, factor 2), the second 20
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await jest.advanceTimersByTimeAsync(20);
    expect(await twice.outcome).toEqual({ ok: true, value: 3 });
    expect(attempts).toEqual([1, 2, 3]);

    calls = 0;
    const always = track(flaky(5));
    await jest.advanceTimersByTimeAsync(10 + 20);
    expect(await always.outcome).toEqual({ ok: false, error: new Error('failure 3') });
    expect(calls).toBe(3);
  });

  it('an error retryOn does not match ends the call at its first attempt', async () => {
    const policy = new ResilienceRegistry().resilient({ retry: { maxAttempts: 3, delay: 10, retryOn: [TypeError] } });
    let calls = 0;
    const fn = policy(async () => {
      calls++;
      throw new RangeError('not retried');
    });
    expect(await rejection(fn())).toEqual(new RangeError('not retried'));
    expect(calls).toBe(1);
  });

  it('a synchronous throw of the first attempt is retried like a rejection', async () => {
    const policy = new ResilienceRegistry().resilient({ retry: { maxAttempts: 2, delay: 5, jitter: false } });
    let calls = 0;
    const fn = policy((): number => {
      if (++calls === 1) throw new Error('sync');
      return calls;
    });
    const call = track(fn());
    await jest.advanceTimersByTimeAsync(5);
    expect(await call.outcome).toEqual({ ok: true, value: 2 });
  });
});

describe('a closed circuit breaker, nobody listening', () => {
  it('counts consecutive failures (a success in between resets them) and opens at the threshold', async () => {
    const policy = new ResilienceRegistry().resilient({ circuitBreaker: { failureThreshold: 2, halfOpenAfter: '1m' } });
    let calls = 0;
    const outcomes = ['fail', 'ok', 'fail', 'fail', 'ok'];
    const fn = policy(async () => {
      const next = outcomes[calls++];
      if (next === 'fail') throw new Error(`failure ${calls}`);
      return calls;
    });
    expect(await rejection(fn())).toEqual(new Error('failure 1'));
    await expect(fn()).resolves.toBe(2);
    expect(await rejection(fn())).toEqual(new Error('failure 3'));
    expect(fn.circuitBreaker?.state).toBe('closed'); // one failure since the success
    expect(await rejection(fn())).toEqual(new Error('failure 4'));
    expect(fn.circuitBreaker?.state).toBe('open');
    expect(isCircuitOpenError(await rejection(fn()))).toBe(true);
    expect(calls).toBe(4);
  });

  it('an error the breaker does not count (errorTypes) leaves it closed', async () => {
    const policy = new ResilienceRegistry().resilient({ circuitBreaker: { failureThreshold: 1, errorTypes: [TypeError] } });
    const fn = policy(async () => {
      throw new RangeError('not counted');
    });
    expect(await rejection(fn())).toEqual(new RangeError('not counted'));
    expect(fn.circuitBreaker?.state).toBe('closed');
  });

  it('a failure that ends after the circuit opened goes to its caller unrecorded: one opening, named after its call', async () => {
    const { policy, of } = recordedPipeline({ circuitBreaker: { failureThreshold: 1, halfOpenAfter: '1m' } });
    const slow = policy(async function slow() {
      await sleep(10);
      throw new Error('slow failure');
    });
    const fast = policy(async function fast() {
      await sleep(1);
      throw new Error('fast failure');
    });
    const late = track(slow()); // starts while closed
    const opening = track(fast());
    await jest.advanceTimersByTimeAsync(1);
    expect(await opening.outcome).toEqual({ ok: false, error: new Error('fast failure') });
    expect(slow.circuitBreaker?.state).toBe('open');
    await jest.advanceTimersByTimeAsync(9);
    expect(await late.outcome).toEqual({ ok: false, error: new Error('slow failure') });
    expect(of(EventType.CIRCUIT_OPEN).map((e) => e.functionName)).toEqual(['fast']);
    expect(slow.circuitBreaker?.state).toBe('open');
  });
});
