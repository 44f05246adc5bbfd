// How a wrapped function reaches its attempt without AsyncLocalStorage: attemptSignal() and
// currentAttempt() during the function's synchronous start, withContext(fn) anywhere in it; and how
// policy events find their call when calls interleave (the call is handed through the layers).
import { attemptSignal, currentAttempt, EventType, isTimeoutError, ResilienceRegistry } from './index';
import type { AttemptContext, ResilienceEvent } from './index';
import { recordedPipeline } from '../test/recordedPipeline';
import { track } from '../test/outcome';
import { watchUnhandledRejections } from '../test/unhandledRejections';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const { expectNoUnhandledRejection } = watchUnhandledRejections();

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('attemptSignal() and currentAttempt()', () => {
  it("give the attempt's signal and number before the first await, and nothing after it", async () => {
    const { policy } = recordedPipeline({ retry: { maxAttempts: 2, delay: 10, jitter: false }, timeout: 100 });
    const seen: Array<{ phase: string; attempt: number | undefined; same: boolean; aborted: boolean }> = [];
    const fn = async () => {
      const signal = attemptSignal();
      const attempt = currentAttempt();
      seen.push({ phase: 'start', attempt: attempt?.attempt, same: attempt?.signal === signal, aborted: signal.aborted });
      await sleep(150); // the first attempt times out here
      const later = attemptSignal();
      seen.push({ phase: 'after await', attempt: currentAttempt()?.attempt, same: later === signal, aborted: later.aborted });
      return 'done';
    };
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(150 + 10 + 150);
    expect(await call.outcome).toEqual({ ok: false, error: expect.objectContaining({ name: 'TimeoutError', attempt: 2 }) });
    expect(seen).toEqual([
      { phase: 'start', attempt: 1, same: true, aborted: false },
      { phase: 'start', attempt: 2, same: true, aborted: false },
      { phase: 'after await', attempt: undefined, same: false, aborted: false },
      { phase: 'after await', attempt: undefined, same: false, aborted: false },
    ]);
    await expectNoUnhandledRejection();
  });

  it('a signal kept from the start aborts at the timeout, however many awaits later', async () => {
    const { policy } = recordedPipeline({ timeout: 100 });
    let kept: AbortSignal | undefined;
    const call = track(
      policy(async () => {
        kept = attemptSignal();
        await sleep(10);
        await sleep(200);
      })(),
    );
    await jest.advanceTimersByTimeAsync(100);
    const outcome = await call.outcome;
    const error = outcome.ok ? undefined : outcome.error;
    expect(isTimeoutError(error)).toBe(true);
    expect(kept?.aborted).toBe(true);
    expect(kept?.reason).toBe(error); // the very TimeoutError the caller got
    await jest.advanceTimersByTimeAsync(200);
    await expectNoUnhandledRejection();
  });

  it("see the inner function's attempt while it starts, and the outer one's again once it returned", async () => {
    const registry = new ResilienceRegistry();
    const inner = registry.resilient({ timeout: 100 })(async function inner() {
      return currentAttempt()?.functionName;
    });
    const seen: Array<string | undefined> = [];
    const outer = registry.resilient({ timeout: 100 })(async function outer() {
      seen.push(currentAttempt()?.functionName);
      const started = inner(); // its start runs synchronously, in this one
      seen.push(currentAttempt()?.functionName);
      seen.push(await started);
      return seen;
    });
    await expect(outer()).resolves.toEqual(['outer', 'outer', 'inner']);
  });

  it('are a never-aborting signal and undefined outside a wrapped function', () => {
    expect(attemptSignal().aborted).toBe(false);
    expect(currentAttempt()).toBeUndefined();
  });
});

describe('policy.withContext(fn)', () => {
  it('passes the attempt context first: its signal aborts at the timeout even when read after awaits', async () => {
    const { policy, of } = recordedPipeline({ retry: { maxAttempts: 2, delay: 10, jitter: false }, timeout: 100 });
    const contexts: AttemptContext[] = [];
    const readLater: Array<{ attempt: number; aborted: boolean; reason: string | undefined }> = [];
    const fn = jest.fn(async (context: AttemptContext, id: number) => {
      contexts.push(context);
      expect(currentAttempt()).toBe(context); // the same object, during the synchronous start
      await sleep(50);
      await sleep(context.attempt === 1 ? 100 : 0);
      readLater.push({ attempt: context.attempt, aborted: context.signal.aborted, reason: (context.signal.reason as Error | undefined)?.name });
      return `user ${id}`;
    });
    const wrapped = policy.withContext(fn);
    const call = track(wrapped(7));
    await jest.advanceTimersByTimeAsync(150 + 10 + 50);
    expect(await call.outcome).toEqual({ ok: true, value: 'user 7' });
    expect(fn.mock.calls.map(([, id]) => id)).toEqual([7, 7]);
    expect(contexts.map((c) => [c.attempt, c.functionName])).toEqual([
      [1, 'mockConstructor'],
      [2, 'mockConstructor'],
    ]);
    expect(readLater).toEqual([
      { attempt: 1, aborted: true, reason: 'TimeoutError' }, // at 150, after its timeout at 100
      { attempt: 2, aborted: false, reason: undefined }, // at 160, in time
    ]);
    expect(of(EventType.RETRY).map((e) => e.attempt)).toEqual([1]);
    await expectNoUnhandledRejection();
  });

  it("keys the cache on the call's arguments alone, and passes `this` through", async () => {
    const { policy } = recordedPipeline({ cache: { ttl: '1m' } });
    const runs: Array<[number, unknown]> = [];
    const owner = { name: 'owner' };
    const wrapped = policy.withContext(async function find(this: unknown, context: AttemptContext, id: number) {
      runs.push([context.attempt, this]);
      return id * 2;
    });
    await expect(wrapped.call(owner, 21)).resolves.toBe(42);
    await expect(wrapped(21)).resolves.toBe(42); // a hit
    expect(runs).toEqual([[1, owner]]);
    expect(wrapped.cache?.keyFor(21)).toBe('find:#21'); // what policy(find) would use
  });

  it('without a timeout, the context carries the caller\'s signal (withSignal), aborted when the caller aborts', async () => {
    const { policy } = recordedPipeline({});
    let context: AttemptContext | undefined;
    const controller = new AbortController();
    const call = track(
      policy
        .withContext(async (c: AttemptContext) => {
          context = c;
          await sleep(100);
        })
        .withSignal(controller.signal)(),
    );
    await jest.advanceTimersByTimeAsync(10);
    expect(context?.signal.aborted).toBe(false);
    controller.abort(new Error('caller gave up'));
    expect(context?.signal.aborted).toBe(true);
    expect(await call.outcome).toEqual({ ok: false, error: new Error('caller gave up') });
    await jest.advanceTimersByTimeAsync(100);
    await expectNoUnhandledRejection();
  });
});

describe('events of interleaved calls name their own call', () => {
  it('RETRY and RETRY_EXHAUSTED carry the key and attempt of the call that retried', async () => {
    const { policy, events } = recordedPipeline({ cache: { ttl: '1m' }, retry: { maxAttempts: 2, delay: 10, jitter: false } });
    const wrapped = policy(async function load(id: number): Promise<number> {
      await sleep(id); // the calls fail in turn: 1, 2, 3, then their retries
      throw new Error(`failed ${id}`);
    });
    const calls = [1, 2, 3].map((id) => track(wrapped(id)));
    await jest.advanceTimersByTimeAsync(20);
    for (const call of calls) expect((await call.outcome).ok).toBe(false);
    const summary = (e: ResilienceEvent) => [e.type, e.key, e.attempt, (e.error as Error | undefined)?.message];
    expect(events.filter((e) => e.type === EventType.RETRY || e.type === EventType.RETRY_EXHAUSTED).map(summary)).toEqual([
      [EventType.RETRY, 'load:#1', 1, 'failed 1'],
      [EventType.RETRY, 'load:#2', 1, 'failed 2'],
      [EventType.RETRY, 'load:#3', 1, 'failed 3'],
      [EventType.RETRY_EXHAUSTED, 'load:#1', 2, 'failed 1'],
      [EventType.RETRY_EXHAUSTED, 'load:#2', 2, 'failed 2'],
      [EventType.RETRY_EXHAUSTED, 'load:#3', 2, 'failed 3'],
    ]);
  });

  it("a shared breaker's CIRCUIT_OPEN, CIRCUIT_HALF_OPEN and CIRCUIT_CLOSED name the function whose attempt caused them", async () => {
    const registry = new ResilienceRegistry();
    const events: ResilienceEvent[] = [];
    registry.on('*', (e) => events.push(e));
    const policy = registry.resilient({ circuitBreaker: { name: 'db', failureThreshold: 2, halfOpenAfter: 1000 } });
    let healthy = false;
    const read = policy(async function read() {
      await sleep(5);
      if (!healthy) throw new Error('read failed');
      return 'read';
    });
    const write = policy(async function write() {
      await sleep(10);
      if (!healthy) throw new Error('write failed');
      return 'write';
    });
    const failing = [track(write()), track(read())]; // read fails first, write's failure opens the circuit
    await jest.advanceTimersByTimeAsync(10);
    expect((await Promise.all(failing.map((c) => c.outcome))).map((o) => o.ok)).toEqual([false, false]);
    await jest.advanceTimersByTimeAsync(1000);
    healthy = true;
    const trial = track(read()); // half-opens the circuit, and its success closes it
    await jest.advanceTimersByTimeAsync(5);
    expect(await trial.outcome).toEqual({ ok: true, value: 'read' });
    const circuit = events.filter((e) => e.type.startsWith('CIRCUIT_')).map((e) => [e.type, e.functionName]);
    expect(circuit).toEqual([
      [EventType.CIRCUIT_OPEN, 'write'],
      [EventType.CIRCUIT_HALF_OPEN, 'read'],
      [EventType.CIRCUIT_CLOSED, 'read'],
    ]);
  });

  it('with two half-open trials, CIRCUIT_CLOSED names the trial that settled last', async () => {
    const registry = new ResilienceRegistry();
    const events: ResilienceEvent[] = [];
    registry.on('*', (e) => events.push(e));
    const policy = registry.resilient({ circuitBreaker: { name: 'db', failureThreshold: 1, halfOpenAfter: 1000, successThreshold: 2 } });
    let healthy = false;
    const make = (name: string, ms: number) =>
      policy(
        Object.defineProperty(
          async () => {
            await sleep(ms);
            if (!healthy) throw new Error(`${name} failed`);
            return name;
          },
          'name',
          { value: name },
        ),
      );
    const slow = make('slow', 20);
    const fast = make('fast', 5);
    const opening = track(fast());
    await jest.advanceTimersByTimeAsync(5);
    expect((await opening.outcome).ok).toBe(false);
    await jest.advanceTimersByTimeAsync(1000);
    healthy = true;
    const trials = [track(slow()), track(fast())]; // both are trials; slow settles last
    await jest.advanceTimersByTimeAsync(20);
    expect(await Promise.all(trials.map((t) => t.outcome))).toEqual([
      { ok: true, value: 'slow' },
      { ok: true, value: 'fast' },
    ]);
    const circuit = events.filter((e) => e.type.startsWith('CIRCUIT_')).map((e) => [e.type, e.functionName]);
    expect(circuit).toEqual([
      [EventType.CIRCUIT_OPEN, 'fast'],
      [EventType.CIRCUIT_HALF_OPEN, 'slow'],
      [EventType.CIRCUIT_CLOSED, 'slow'],
    ]);
  });
});
