import { cacheEvent } from '@toolkit/cache';
import { resilienceEvent, ResilienceRegistry } from './index';

/**
 * The cache-hit path is the product: through the full wrapper, a hit must not create an AbortController,
 * a timer or an event object while nobody listens.
 */
describe('a cache hit through resilient({ cache, retry, circuitBreaker, timeout })', () => {
  const load = async (id: number) => ({ id });

  function wrapped(registry = new ResilienceRegistry()) {
    return registry.resilient({ cache: { ttl: '1h' }, retry: { maxAttempts: 3 }, circuitBreaker: {}, timeout: '1s' })(load);
  }

  /** Spies on what a hit must not create; the clock's one-time timer is made by `warm` first. */
  function watch() {
    const controllers = jest.spyOn(globalThis, 'AbortController');
    const timers = jest.spyOn(globalThis, 'setTimeout');
    const intervals = jest.spyOn(globalThis, 'setInterval');
    const events = [...Object.values(cacheEvent), ...Object.values(resilienceEvent)].length;
    const builders = [
      ...Object.keys(cacheEvent).map((k) => jest.spyOn(cacheEvent, k as keyof typeof cacheEvent)),
      ...Object.keys(resilienceEvent).map((k) => jest.spyOn(resilienceEvent, k as keyof typeof resilienceEvent)),
    ];
    expect(builders).toHaveLength(events);
    return {
      created: () => ({
        controllers: controllers.mock.calls.length,
        timers: timers.mock.calls.length + intervals.mock.calls.length,
        events: builders.reduce((n, b) => n + b.mock.calls.length, 0),
      }),
      reset: () => [controllers, timers, intervals, ...builders].forEach((s) => s.mockClear()),
      restore: () => [controllers, timers, intervals, ...builders].forEach((s) => s.mockRestore()),
    };
  }

  it('creates no AbortController, timer or event object without listeners', async () => {
    const getUser = wrapped();
    for (let id = 0; id < 10; id++) await getUser(id); // misses: loads run through every policy
    const spies = watch();
    try {
      await getUser(0); // the clock notices the replaced setTimeout once
      spies.reset();
      for (let i = 0; i < 1_000; i++) await getUser(i % 10);
      expect(spies.created()).toEqual({ controllers: 0, timers: 0, events: 0 });
    } finally {
      spies.restore();
    }
  });

  it('builds the events once someone listens (the spies see the same builders)', async () => {
    const registry = new ResilienceRegistry();
    const getUser = wrapped(registry);
    await getUser(1);
    const seen: string[] = [];
    registry.on('CACHE_HIT', (e) => seen.push(e.type));
    const spies = watch();
    try {
      await getUser(1);
      await getUser(1);
      expect(spies.created().events).toBeGreaterThanOrEqual(2);
      expect(seen).toEqual(['CACHE_HIT', 'CACHE_HIT']);
    } finally {
      spies.restore();
    }
  });

  it('answers every hit with the cached value', async () => {
    const getUser = wrapped();
    const first = await getUser(7);
    await expect(getUser(7)).resolves.toBe(first);
    await expect(getUser(7)).resolves.toBe(first);
  });
});
