import { channel, subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { CacheChannel } from '@toolkit/cache';
import { PipelineChannel } from './diagnostics';
import { resilienceEvent } from './events/ResilienceEvents';
import { ResilienceRegistry } from './ResilienceRegistry';

type Seen = [string, string, Record<string, unknown>];
const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;

/** Records every event of the given tracing channels, in order, each with a copy of the context at that moment. */
function traced(...names: string[]) {
  const seen: Seen[] = [];
  const subscriptions = names.map((name) => {
    const record = (event: string) => (context: unknown) => {
      seen.push([name, event, { ...(context as Record<string, unknown>) }]);
    };
    const handlers = { start: record('start'), end: record('end'), asyncStart: record('asyncStart'), asyncEnd: record('asyncEnd'), error: record('error') };
    const trace = tracingChannel(name);
    trace.subscribe(handlers);
    return () => trace.unsubscribe(handlers);
  });
  stops.push(() => subscriptions.forEach((stop) => stop()));
  return seen;
}

const stops: Array<() => void> = [];
beforeEach(() => jest.useFakeTimers({ now: 1_000 }));
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  jest.useRealTimers();
});

const CALL = PipelineChannel.CALL;
const ATTEMPT = PipelineChannel.ATTEMPT;

describe('toolkit:pipeline:call and toolkit:pipeline:attempt', () => {
  it('trace a call with 2 attempts: the call starts, attempt 1 fails, attempt 2 succeeds, the call ends', async () => {
    const seen = traced(CALL, ATTEMPT);
    const registry = new ResilienceRegistry();
    const flaky = new Error('flaky');
    let runs = 0;
    const getUser = registry.resilient({ retry: { maxAttempts: 3, delay: 0 } })(async function getUser(id: number) {
      if (++runs === 1) throw flaky;
      return `user ${id}`;
    });
    const call = getUser(7);
    await jest.advanceTimersByTimeAsync(0);
    expect(await call).toBe('user 7');

    const callContext = { functionName: 'getUser', key: undefined };
    const first = { functionName: 'getUser', attempt: 1 };
    const second = { functionName: 'getUser', attempt: 2 };
    expect(seen).toEqual([
      [CALL, 'start', { ...callContext, attempts: 0, outcome: undefined }],
      [ATTEMPT, 'start', { ...first, outcome: undefined }],
      [ATTEMPT, 'end', { ...first, outcome: undefined }],
      [CALL, 'end', { ...callContext, attempts: 0, outcome: undefined }],
      [ATTEMPT, 'error', { ...first, outcome: 'failure', error: flaky }],
      [ATTEMPT, 'asyncStart', { ...first, outcome: 'failure', error: flaky }],
      [ATTEMPT, 'asyncEnd', { ...first, outcome: 'failure', error: flaky }],
      [ATTEMPT, 'start', { ...second, outcome: undefined }],
      [ATTEMPT, 'end', { ...second, outcome: undefined }],
      [ATTEMPT, 'asyncStart', { ...second, outcome: 'success', result: 'user 7' }],
      [ATTEMPT, 'asyncEnd', { ...second, outcome: 'success', result: 'user 7' }],
      [CALL, 'asyncStart', { ...callContext, attempts: 2, outcome: 'success', result: 'user 7' }],
      [CALL, 'asyncEnd', { ...callContext, attempts: 2, outcome: 'success', result: 'user 7' }],
    ]);
  });

  it('trace a failed call (error), and a call a fallback answered (outcome fallback), with the cache key', async () => {
    const seen = traced(CALL);
    const registry = new ResilienceRegistry();
    const down = new Error('down');
    const failing = registry.resilient({ retry: { maxAttempts: 1 } })(async function failing(): Promise<string> {
      throw down;
    });
    await expect(failing()).rejects.toBe(down);
    const rescued = registry.resilient({ cache: { ttl: '1m' }, fallback: () => 'spare' })(async function rescued(id: number): Promise<string> {
      throw Object.assign(down, { id });
    });
    expect(await rescued(3)).toBe('spare');

    const failed = { functionName: 'failing', key: undefined };
    const fellBack = { functionName: 'rescued', key: 'rescued:#3' };
    expect(seen.map(([, event, c]) => [event, c])).toEqual([
      ['start', { ...failed, attempts: 0, outcome: undefined }],
      ['end', { ...failed, attempts: 0, outcome: undefined }],
      ['error', { ...failed, attempts: 1, outcome: 'failure', error: down }],
      ['asyncStart', { ...failed, attempts: 1, outcome: 'failure', error: down }],
      ['asyncEnd', { ...failed, attempts: 1, outcome: 'failure', error: down }],
      ['start', { ...fellBack, attempts: 0, outcome: undefined }],
      ['end', { ...fellBack, attempts: 0, outcome: undefined }],
      ['asyncStart', { ...fellBack, attempts: 1, outcome: 'fallback', result: expect.objectContaining({ value: 'spare' }) }],
      ['asyncEnd', { ...fellBack, attempts: 1, outcome: 'fallback', result: expect.objectContaining({ value: 'spare' }) }],
    ]);
  });

  it('trace an attempt the breaker refused (it opened after attempt 1), which the call does not count', async () => {
    const seen = traced(CALL, ATTEMPT);
    const registry = new ResilienceRegistry();
    const down = new Error('down');
    const pay = registry.resilient({ retry: { maxAttempts: 3, delay: 0 }, circuitBreaker: { failureThreshold: 1, halfOpenAfter: '1m' } })(async function pay(): Promise<string> {
      throw down;
    });
    const call = pay();
    const settled = call.catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(0);
    const error = await settled;
    expect(error).toMatchObject({ name: 'CircuitOpenError' });
    const ends = seen.filter(([, event]) => event === 'asyncEnd').map(([name, , c]) => [name, c.attempt ?? c.attempts, c.outcome, c.error]);
    expect(ends).toEqual([
      [ATTEMPT, 1, 'failure', down],
      [ATTEMPT, 2, 'failure', error],
      [CALL, 1, 'failure', error],
    ]);
  });

  it('a cache hit runs no pipeline call, and is not traced', async () => {
    const seen = traced(CALL, ATTEMPT);
    const registry = new ResilienceRegistry();
    const getUser = registry.resilient({ cache: { ttl: '1m' }, timeout: '1s' })(async function getUser(id: number) {
      return `user ${id}`;
    });
    await getUser(1);
    const traces = seen.length;
    await getUser(1);
    expect(traces).toBe(8);
    expect(seen).toHaveLength(8);
  });
});

describe('toolkit:policy:event', () => {
  it('publishes each policy event once, the objects listeners get; cache events only on toolkit:cache:event', async () => {
    const policy: Array<{ type: string }> = [];
    const cacheEvents: Array<{ type: string }> = [];
    const onPolicy = (event: unknown) => policy.push(event as { type: string });
    const onCache = (event: unknown) => cacheEvents.push(event as { type: string });
    subscribe(PipelineChannel.POLICY_EVENT, onPolicy);
    subscribe(CacheChannel.EVENT, onCache);
    stops.push(() => (unsubscribe(PipelineChannel.POLICY_EVENT, onPolicy), unsubscribe(CacheChannel.EVENT, onCache)));
    const registry = new ResilienceRegistry();
    const listened: unknown[] = [];
    registry.on('*', (event) => listened.push(event));
    let runs = 0;
    const getUser = registry.resilient({ cache: { ttl: '1m' }, retry: { maxAttempts: 2, delay: 0 } })(async function getUser(id: number) {
      if (++runs === 1) throw new Error('flaky');
      return `user ${id}`;
    });
    const call = getUser(1);
    await jest.advanceTimersByTimeAsync(0);
    await call;
    await getUser(1);
    expect(policy.map((e) => e.type)).toEqual(['RETRY', 'SUCCESS']);
    expect(policy[1]).toMatchObject({ type: 'SUCCESS', functionName: 'getUser', key: 'getUser:#1', attempt: 2 });
    expect(listened.filter((e) => policy.includes(e as { type: string }))).toEqual(policy);
    expect(cacheEvents.map((e) => e.type)).toEqual(['CACHE_MISS', 'CACHE_LOAD', 'CACHE_HIT']);
  });

  it('publishes the events of a breaker that no call caused (isolate, reset)', () => {
    const policy: unknown[] = [];
    const onPolicy = (event: unknown) => policy.push(event);
    subscribe(PipelineChannel.POLICY_EVENT, onPolicy);
    stops.push(() => unsubscribe(PipelineChannel.POLICY_EVENT, onPolicy));
    const registry = new ResilienceRegistry();
    const fn = registry.resilient({ circuitBreaker: { name: 'payments', failureThreshold: 2, halfOpenAfter: '1s' } })(async function pay() {
      return 1;
    });
    fn.circuitBreaker?.isolate();
    fn.circuitBreaker?.reset();
    expect(policy).toEqual([
      expect.objectContaining({ type: 'CIRCUIT_OPEN', breaker: 'payments', isolated: true }),
      expect.objectContaining({ type: 'CIRCUIT_CLOSED', breaker: 'payments' }),
    ]);
  });
});

describe('with no subscriber', () => {
  it('publishes nothing, starts no trace and builds no event', async () => {
    const proto = Object.getPrototypeOf(tracingChannel(CALL)) as { tracePromise: (...args: unknown[]) => unknown };
    const tracePromise = jest.spyOn(proto, 'tracePromise');
    const names = [PipelineChannel.POLICY_EVENT, ...EVENTS.flatMap((e) => [`tracing:${CALL}:${e}`, `tracing:${ATTEMPT}:${e}`])];
    const published = names.map((name) => jest.spyOn(channel(name), 'publish'));
    const builders = Object.keys(resilienceEvent).map((type) => jest.spyOn(resilienceEvent, type as keyof typeof resilienceEvent));
    try {
      const registry = new ResilienceRegistry();
      let runs = 0;
      const getUser = registry.resilient({ cache: { ttl: '1m' }, retry: { maxAttempts: 2, delay: 0 }, timeout: '1s' })(async function getUser(id: number) {
        if (++runs === 1) throw new Error('flaky');
        return `user ${id}`;
      });
      const call = getUser(1);
      await jest.advanceTimersByTimeAsync(0);
      expect(await call).toBe('user 1');
      expect(await getUser(1)).toBe('user 1');
      expect(runs).toBe(2);
      expect(tracePromise).not.toHaveBeenCalled();
      expect(published.map((p) => p.mock.calls.length)).toEqual(published.map(() => 0));
      expect(builders.map((b) => b.mock.calls.length)).toEqual(builders.map(() => 0));
    } finally {
      tracePromise.mockRestore();
      for (const spy of [...published, ...builders]) spy.mockRestore();
    }
  });
});
