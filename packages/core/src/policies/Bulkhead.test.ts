import { BulkheadFullError, EventType, ResilienceRegistry, isBulkheadFullError } from '../index';
import type { BulkheadOptions, ResilienceEvent, ResilientOptions } from '../index';
import { outcome, track, rejection } from '../../test/outcome';


/** Lets every pending promise job run (the pipeline awaits a few times before it calls the function). */
const flush = () => jest.advanceTimersByTimeAsync(0);

/**
 * A function whose calls stay running until the test settles them: `started` lists the calls' names
 * in the order they began, `finish(name)` / `fail(name)` settles one.
 */
function gate() {
  const started: string[] = [];
  const pending = new Map<string, { resolve: (v: string) => void; reject: (e: unknown) => void }>();
  const fn = jest.fn(
    (name: string) =>
      new Promise<string>((resolve, reject) => {
        started.push(name);
        pending.set(name, { resolve, reject });
      }),
  );
  const finish = (name: string) => pending.get(name)?.resolve(`${name} done`);
  const fail = (name: string, error: unknown) => pending.get(name)?.reject(error);
  return { fn, started, finish, fail };
}

function setup(bulkhead: BulkheadOptions, more: Omit<ResilientOptions, 'bulkhead' | 'onEvent'> = {}) {
  const registry = new ResilienceRegistry();
  const events: ResilienceEvent[] = [];
  const policy = registry.resilient({ ...more, bulkhead, onEvent: (e) => events.push(e) });
  return { registry, policy, events };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('bulkhead: slots and queue', () => {
  it('runs maxConcurrent calls, queues maxQueue, rejects the next with BulkheadFullError', async () => {
    const { policy, events } = setup({ maxConcurrent: 2, maxQueue: 2 });
    const { fn, started, finish } = gate();
    const wrapped = policy(fn);
    expect(wrapped.bulkhead?.executionSlots).toBe(2);
    expect(wrapped.bulkhead?.queueSlots).toBe(2);

    const a = track(wrapped('a'));
    const b = track(wrapped('b'));
    const c = track(wrapped('c'));
    const d = track(wrapped('d'));
    await flush();
    expect(started).toEqual(['a', 'b']);
    expect(wrapped.bulkhead?.executionSlots).toBe(0);
    expect(wrapped.bulkhead?.queueSlots).toBe(0);

    const error = await rejection(wrapped('e'));
    expect(error).toBeInstanceOf(BulkheadFullError);
    expect(isBulkheadFullError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'E_BULKHEAD_FULL', maxConcurrent: 2, maxQueue: 2, name: 'BulkheadFullError' });
    const rejected = events.filter((e) => e.type === EventType.BULKHEAD_REJECTED);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.functionName).toBe('mockConstructor');
    expect(fn).toHaveBeenCalledTimes(2);

    // Queued calls start in arrival order as slots free up.
    finish('b');
    await flush();
    expect(started).toEqual(['a', 'b', 'c']);
    expect(b.settled).toBe(true);
    expect(wrapped.bulkhead?.queueSlots).toBe(1);
    finish('a');
    await flush();
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(wrapped.bulkhead?.queueSlots).toBe(2);
    expect(wrapped.bulkhead?.executionSlots).toBe(0);

    finish('c');
    finish('d');
    expect(await a.outcome).toEqual({ ok: true, value: 'a done' });
    expect(await c.outcome).toEqual({ ok: true, value: 'c done' });
    expect(await d.outcome).toEqual({ ok: true, value: 'd done' });
    expect(wrapped.bulkhead?.executionSlots).toBe(2);
    expect(events.filter((e) => e.type === EventType.BULKHEAD_REJECTED)).toHaveLength(1);
  });

  it('with no queue (the default), rejects the call after maxConcurrent at once', async () => {
    const { policy } = setup({ maxConcurrent: 1 });
    const { fn, finish } = gate();
    const wrapped = policy(fn);
    const first = wrapped('first');
    await flush();
    expect(wrapped.bulkhead?.queueSlots).toBe(0);
    expect(isBulkheadFullError(await rejection(wrapped('second')))).toBe(true);
    expect(fn).toHaveBeenCalledTimes(1);
    finish('first');
    await expect(first).resolves.toBe('first done');
    await flush();
    const third = wrapped('third');
    await flush();
    finish('third');
    await expect(third).resolves.toBe('third done');
  });

  it('is shared by every function the pipeline wraps', async () => {
    const { policy } = setup({ maxConcurrent: 1 });
    const { fn, finish } = gate();
    const one = policy(fn);
    const two = policy(async (n: number) => n);
    expect(two.bulkhead).toBe(one.bulkhead);
    const running = one('one');
    await flush();
    expect(isBulkheadFullError(await rejection(two(2)))).toBe(true);
    finish('one');
    await running;
    await expect(two(2)).resolves.toBe(2);
  });

  it('releases the slot when a call fails, so the queue and later calls go on', async () => {
    const { policy } = setup({ maxConcurrent: 1, maxQueue: 1 });
    const { fn, started, fail, finish } = gate();
    const wrapped = policy(fn);
    const broken = new Error('broken');
    const a = track(wrapped('a'));
    const b = track(wrapped('b'));
    await flush();
    expect(started).toEqual(['a']);
    fail('a', broken);
    await flush();
    expect(await a.outcome).toEqual({ ok: false, error: broken }); // the function's own error, unwrapped
    expect(started).toEqual(['a', 'b']);
    fail('b', broken);
    await flush();
    expect(b.settled).toBe(true);
    expect(wrapped.bulkhead?.executionSlots).toBe(1);
    expect(wrapped.bulkhead?.queueSlots).toBe(1);

    // A synchronous throw releases the slot too.
    const throwing = policy(() => {
      throw new Error('sync');
    });
    await expect(throwing()).rejects.toThrow('sync');
    expect(wrapped.bulkhead?.executionSlots).toBe(1);
    const c = wrapped('c');
    await flush();
    finish('c');
    await expect(c).resolves.toBe('c done');
  });

  it('a rejected call never runs later', async () => {
    const { policy } = setup({ maxConcurrent: 1 });
    const { fn, started, finish } = gate();
    const wrapped = policy(fn);
    const a = wrapped('a');
    await flush();
    await rejection(wrapped('b'));
    finish('a');
    await a;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(started).toEqual(['a']);
  });
});

describe('bulkhead: maxWait', () => {
  it('rejects a queued call that got no slot within maxWait, and it never runs later', async () => {
    const { policy, events } = setup({ maxConcurrent: 1, maxQueue: 1, maxWait: '1s' });
    const { fn, started, finish } = gate();
    const wrapped = policy(fn);
    const a = track(wrapped('a'));
    const b = track(wrapped('b'));
    await flush();
    expect(started).toEqual(['a']);

    await jest.advanceTimersByTimeAsync(999);
    expect(b.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(b.settled).toBe(true);
    const result = await b.outcome;
    expect(result.ok).toBe(false);
    const error = !result.ok ? result.error : undefined;
    expect(isBulkheadFullError(error)).toBe(true);
    expect((error as Error).message).toMatch(/maxWait/);
    expect(events.filter((e) => e.type === EventType.BULKHEAD_REJECTED)).toHaveLength(1);

    finish('a');
    expect(await a.outcome).toEqual({ ok: true, value: 'a done' });
    await jest.advanceTimersByTimeAsync(10_000);
    expect(started).toEqual(['a']); // b gave up: it must not run now that the slot is free
    expect(fn).toHaveBeenCalledTimes(1);
    expect(wrapped.bulkhead?.executionSlots).toBe(1);
  });

  it('a queued call that gets its slot within maxWait runs normally', async () => {
    const { policy, events } = setup({ maxConcurrent: 1, maxQueue: 1, maxWait: 1_000 });
    const { fn, started, finish } = gate();
    const wrapped = policy(fn);
    const a = wrapped('a');
    const b = track(wrapped('b'));
    await jest.advanceTimersByTimeAsync(500);
    finish('a');
    await a;
    await flush();
    expect(started).toEqual(['a', 'b']);
    // Its maxWait timer is cleared once it runs: running past it is fine.
    await jest.advanceTimersByTimeAsync(5_000);
    expect(b.settled).toBe(false);
    finish('b');
    expect(await b.outcome).toEqual({ ok: true, value: 'b done' });
    expect(events.some((e) => e.type === EventType.BULKHEAD_REJECTED)).toBe(false);
  });

  it('frees the queue place of a call that gave up after maxWait', async () => {
    const { policy } = setup({ maxConcurrent: 1, maxQueue: 1, maxWait: '1s' });
    const { fn, started, finish } = gate();
    const wrapped = policy(fn);
    const a = wrapped('a');
    const b = outcome(wrapped('b'));
    await jest.advanceTimersByTimeAsync(1_000);
    const gaveUp = await b;
    expect(!gaveUp.ok && isBulkheadFullError(gaveUp.error)).toBe(true);
    expect(wrapped.bulkhead?.queueSlots).toBe(1);

    // The place b left is free for c: c waits instead of being rejected.
    const c = track(wrapped('c'));
    await flush();
    expect(c.settled).toBe(false);
    finish('a');
    await a;
    await flush();
    expect(started).toEqual(['a', 'c']);
    finish('c');
    expect(await c.outcome).toEqual({ ok: true, value: 'c done' });
  });

  it('a call over a full queue is rejected at once, not after maxWait', async () => {
    const { policy } = setup({ maxConcurrent: 1, maxQueue: 1, maxWait: '1m' });
    const { fn } = gate();
    const wrapped = policy(fn);
    void outcome(wrapped('a'));
    void outcome(wrapped('b'));
    await flush();
    const error = await rejection(wrapped('c'));
    expect(isBulkheadFullError(error)).toBe(true);
    expect((error as Error).message).not.toMatch(/maxWait/);
  });
});

describe('bulkhead: with other layers', () => {
  it('a fallback answers BulkheadFullError', async () => {
    const { policy, events } = setup({ maxConcurrent: 1 }, { fallback: (error: unknown) => (isBulkheadFullError(error) ? 'busy' : 'other') });
    const { fn, finish } = gate();
    const wrapped = policy(fn);
    const a = wrapped('a');
    await flush();
    await expect(wrapped('b')).resolves.toBe('busy');
    expect(events.map((e) => e.type)).toEqual(['BULKHEAD_REJECTED', 'FALLBACK_USED']);
    finish('a');
    await expect(a).resolves.toBe('a done');
  });

  it('a rejection is not retried: retry runs inside the bulkhead', async () => {
    const { policy } = setup({ maxConcurrent: 1 }, { retry: { maxAttempts: 3, delay: 10 } });
    const { fn, finish } = gate();
    const wrapped = policy(fn);
    const a = wrapped('a');
    await flush();
    const b = outcome(wrapped('b'));
    await jest.advanceTimersByTimeAsync(1_000);
    const result = await b;
    expect(!result.ok && isBulkheadFullError(result.error)).toBe(true);
    expect(fn).toHaveBeenCalledTimes(1);
    finish('a');
    await a;
  });

  it('retries of one call keep its slot: they do not queue behind other calls', async () => {
    const { policy } = setup({ maxConcurrent: 1, maxQueue: 1 }, { retry: { maxAttempts: 2, delay: 100, jitter: false } });
    const order: string[] = [];
    let failedOnce = false;
    const wrapped = policy(async (name: string) => {
      order.push(name);
      if (name === 'a' && !failedOnce) {
        failedOnce = true;
        throw new Error('transient');
      }
      return name;
    });
    const a = wrapped('a');
    const b = wrapped('b');
    await jest.advanceTimersByTimeAsync(100);
    await expect(a).resolves.toBe('a');
    await expect(b).resolves.toBe('b');
    expect(order).toEqual(['a', 'a', 'b']);
  });
});

describe('bulkhead: options', () => {
  it('refuses maxConcurrent below 1, or not an integer, naming the option', () => {
    const registry = new ResilienceRegistry();
    expect(() => registry.resilient({ bulkhead: { maxConcurrent: 0 } })).toThrow(RangeError);
    expect(() => registry.resilient({ bulkhead: { maxConcurrent: 0 } })).toThrow(/bulkhead\.maxConcurrent/);
    expect(() => registry.resilient({ bulkhead: { maxConcurrent: 1.5 } })).toThrow(/bulkhead\.maxConcurrent/);
    expect(() => registry.resilient({ bulkhead: { maxConcurrent: Number.NaN } })).toThrow(/bulkhead\.maxConcurrent/);
  });

  it('refuses a negative or fractional maxQueue, naming the option', () => {
    const registry = new ResilienceRegistry();
    expect(() => registry.resilient({ bulkhead: { maxConcurrent: 1, maxQueue: -1 } })).toThrow(RangeError);
    expect(() => registry.resilient({ bulkhead: { maxConcurrent: 1, maxQueue: -1 } })).toThrow(/bulkhead\.maxQueue/);
    expect(() => registry.resilient({ bulkhead: { maxConcurrent: 1, maxQueue: 0.5 } })).toThrow(/bulkhead\.maxQueue/);
  });

  it('refuses a maxWait that is not a duration, naming the option', () => {
    const registry = new ResilienceRegistry();
    expect(() => registry.resilient({ bulkhead: { maxConcurrent: 1, maxWait: 'soon' } })).toThrow(/bulkhead\.maxWait/);
    expect(() => registry.resilient({ bulkhead: { maxConcurrent: 1, maxWait: -5 } })).toThrow(/bulkhead\.maxWait/);
  });

  it('exposes its limits and free slots on the wrapped function and the policy', () => {
    const { policy } = setup({ maxConcurrent: 3, maxQueue: 7 });
    const wrapped = policy(async () => 1);
    expect(policy.bulkhead).toBe(wrapped.bulkhead);
    expect(wrapped.bulkhead).toMatchObject({ maxConcurrent: 3, maxQueue: 7, executionSlots: 3, queueSlots: 7 });
    expect(setup({ maxConcurrent: 1 }).policy(async () => 1).bulkhead?.queueSlots).toBe(0);
    expect(new ResilienceRegistry().resilient({})(async () => 1).bulkhead).toBeUndefined();
  });
});

describe('bulkhead: a caller that aborts while queued', () => {
  it('leaves the queue at once, so its place goes to the next caller', async () => {
    const registry = new ResilienceRegistry();
    let release!: () => void;
    const busy = registry.resilient({ bulkhead: { maxConcurrent: 1, maxQueue: 1 } })(
      (id: number) => new Promise<number>((resolve) => (release = () => resolve(id))),
    );
    const first = busy(1); // runs
    const controller = new AbortController();
    const queued = busy.withSignal(controller.signal)(2); // waits for the slot
    const queuedOutcome = queued.catch((error: unknown) => error);
    await Promise.resolve();
    expect(busy.bulkhead?.queueSlots).toBe(0);
    controller.abort();
    expect(await queuedOutcome).toMatchObject({ name: 'AbortError' });
    expect(busy.bulkhead?.queueSlots).toBe(1); // its place is free again
    const third = busy(3); // takes the freed place instead of being rejected
    release();
    await expect(first).resolves.toBe(1);
    await jest.advanceTimersByTimeAsync(0); // cockatiel starts the next queued call
    release();
    await expect(third).resolves.toBe(3);
  });
});
