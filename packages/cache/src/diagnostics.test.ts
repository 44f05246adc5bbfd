import { channel, subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { Cache } from './Cache';
import { CacheChannel } from './diagnostics';
import { cacheEvent } from './events/CacheEvents';
import { MemoryStore } from './stores/MemoryStore';

type Seen = [string, Record<string, unknown>];

/**
 * Subscribes to every event of a tracing channel; each is recorded with a copy of the context as it was
 * when published (Node hands the same object to all five, adding `result` or `error` on the way).
 */
function traced(name: string, order?: { log: string[]; label: (context: Record<string, unknown>) => string }) {
  const seen: Seen[] = [];
  const record = (event: string) => (context: unknown) => {
    const c = context as Record<string, unknown>;
    order?.log.push(`${order.label(c)} ${event}`);
    seen.push([event, { ...c }]);
  };
  const handlers = {
    start: record('start'),
    end: record('end'),
    asyncStart: record('asyncStart'),
    asyncEnd: record('asyncEnd'),
    error: record('error'),
  };
  const trace = tracingChannel(name);
  trace.subscribe(handlers);
  return { seen, stop: () => trace.unsubscribe(handlers) };
}

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  jest.useRealTimers();
});
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('toolkit:cache:load', () => {
  it('traces a load: start and end when it starts, asyncStart and asyncEnd with the value; a hit is not traced', async () => {
    const loads = traced(CacheChannel.LOAD);
    stops.push(loads.stop);
    const cache = new Cache();
    const getUser = cache.cached(async (id: number) => `user ${id}`, { name: 'users' });
    const call = getUser(7);
    expect(loads.seen).toEqual([
      ['start', { scope: 'users', key: 'users:#7', background: false }],
      ['end', { scope: 'users', key: 'users:#7', background: false }],
    ]);
    expect(await call).toBe('user 7');
    expect(await getUser(7)).toBe('user 7'); // a hit
    expect(loads.seen.slice(2)).toEqual([
      ['asyncStart', { scope: 'users', key: 'users:#7', background: false, result: 'user 7' }],
      ['asyncEnd', { scope: 'users', key: 'users:#7', background: false, result: 'user 7' }],
    ]);
  });

  it('traces a failed load with error, asyncStart, asyncEnd; the caller gets the error itself', async () => {
    const loads = traced(CacheChannel.LOAD);
    stops.push(loads.stop);
    const cache = new Cache();
    const boom = new Error('db down');
    const getUser = cache.cached((id: number): Promise<string> => Promise.reject(Object.assign(boom, { id })), { name: 'users' });
    await expect(getUser(1)).rejects.toBe(boom);
    const context = { scope: 'users', key: 'users:#1', background: false };
    expect(loads.seen).toEqual([
      ['start', context],
      ['end', context],
      ['error', { ...context, error: boom }],
      ['asyncStart', { ...context, error: boom }],
      ['asyncEnd', { ...context, error: boom }],
    ]);
  });

  it('runs the factory between start and end (where an APM agent binds its context), and marks refresh-ahead loads background', async () => {
    jest.useFakeTimers({ now: 0 });
    const loads = traced(CacheChannel.LOAD);
    stops.push(loads.stop);
    const inside: boolean[] = [];
    let depth = 0;
    const start = channel(`tracing:${CacheChannel.LOAD}:start`);
    const end = channel(`tracing:${CacheChannel.LOAD}:end`);
    const enter = () => depth++;
    const leave = () => depth--;
    start.subscribe(enter);
    end.subscribe(leave);
    stops.push(() => (start.unsubscribe(enter), end.unsubscribe(leave)));
    const cache = new Cache({ ttl: 1_000, refreshAhead: 0.5 });
    const get = cache.cached(async (id: number) => (inside.push(depth === 1), id), { name: 'n' });
    await get(1);
    await jest.advanceTimersByTimeAsync(600);
    await get(1); // past refreshAhead: a hit, and one background load
    await jest.advanceTimersByTimeAsync(0);
    expect(inside).toEqual([true, true]);
    expect(loads.seen.filter(([event]) => event === 'start').map(([, c]) => c.background)).toEqual([false, true]);
  });
});

describe('toolkit:cache:l2', () => {
  it('traces each L2 operation with its name, scope and number of keys, around the factory run; an L2 answer runs no factory', async () => {
    const order: string[] = [];
    const l2 = traced(CacheChannel.L2, { log: order, label: (c) => `l2 ${String(c.operation)}` });
    const loads = traced(CacheChannel.LOAD, { log: order, label: (c) => `load ${String(c.key)}` });
    stops.push(l2.stop, loads.stop);
    const store = new MemoryStore();
    const writer = new Cache({ store }).cached(async (id: number) => `user ${id}`, { name: 'users' });
    expect(await writer(1)).toBe('user 1');
    const reader = new Cache({ store }).cached(async (id: number) => `other ${id}`, { name: 'users' });
    expect(await reader(1)).toBe('user 1'); // from the L2: its factory does not run
    const events = ['start', 'end', 'asyncStart', 'asyncEnd'];
    expect(order).toEqual([
      ...events.map((e) => `l2 get ${e}`),
      ...events.map((e) => `load users:#1 ${e}`),
      ...events.map((e) => `l2 set ${e}`),
      ...events.map((e) => `l2 get ${e}`),
    ]);
    expect(l2.seen.map(([, c]) => [c.operation, c.scope, c.keys])).toEqual([
      ...events.map(() => ['get', 'users', 1]),
      ...events.map(() => ['set', 'users', 1]),
      ...events.map(() => ['get', 'users', 1]),
    ]);
    expect(l2.seen[2]?.[1].result).toEqual([undefined]); // the store's answer to getMany(['users:#1']): nothing
    expect(l2.seen[10]?.[1].result).toEqual([expect.objectContaining({ value: 'user 1' })]);
  });
});

describe('toolkit:cache:event', () => {
  it('publishes every cache event, the same objects the listeners get', async () => {
    jest.useFakeTimers({ now: 1_000 });
    const events: unknown[] = [];
    const onEvent = (event: unknown) => events.push(event);
    subscribe(CacheChannel.EVENT, onEvent);
    stops.push(() => unsubscribe(CacheChannel.EVENT, onEvent));
    const cache = new Cache();
    const getUser = cache.cached(async (id: number) => `user ${id}`, { name: 'users' });
    const listened: unknown[] = [];
    cache.on('CACHE_HIT', (event) => listened.push(event));
    await getUser(1);
    await getUser(1);
    expect(events).toEqual([
      { type: 'CACHE_MISS', scope: 'users', key: 'users:#1', at: 1_000 },
      { type: 'CACHE_LOAD', scope: 'users', key: 'users:#1', at: 1_000, durationMs: 0, background: false },
      { type: 'CACHE_HIT', scope: 'users', key: 'users:#1', at: 1_000 },
    ]);
    expect(listened[0]).toBe(events[2]);
  });

  it('publishes an L2 error that belongs to no scope', async () => {
    jest.useFakeTimers({ now: 5_000 });
    const events: unknown[] = [];
    const onEvent = (event: unknown) => events.push(event);
    subscribe(CacheChannel.EVENT, onEvent);
    stops.push(() => unsubscribe(CacheChannel.EVENT, onEvent));
    const store = new MemoryStore();
    const down = new Error('L2 down');
    jest.spyOn(store, 'invalidateTags').mockRejectedValue(down);
    const cache = new Cache({ store, autoRecovery: false });
    await cache.invalidateTags(['t']);
    expect(events).toEqual([{ type: 'CACHE_L2_ERROR', scope: '', key: '', at: 5_000, operation: 'invalidateTags', error: down }]);
  });
});

describe('with no subscriber', () => {
  it('publishes nothing, starts no trace and builds no event', async () => {
    const trace = Object.getPrototypeOf(tracingChannel(CacheChannel.LOAD)) as { tracePromise: (...args: unknown[]) => unknown };
    const tracePromise = jest.spyOn(trace, 'tracePromise');
    const published = [CacheChannel.EVENT, ...['start', 'end', 'asyncStart', 'asyncEnd', 'error'].flatMap((e) => [`tracing:${CacheChannel.LOAD}:${e}`, `tracing:${CacheChannel.L2}:${e}`])].map(
      (name) => jest.spyOn(channel(name), 'publish'),
    );
    const builders = Object.keys(cacheEvent).map((type) => jest.spyOn(cacheEvent, type as keyof typeof cacheEvent));
    try {
      const cache = new Cache({ store: new MemoryStore() });
      const getUser = cache.cached(async (id: number) => (await sleep(1), `user ${id}`), { name: 'users' });
      await getUser(1);
      await getUser(1);
      await expect(cache.cached(async () => Promise.reject(new Error('no')), { name: 'failing' })()).rejects.toThrow('no');
      expect(tracePromise).not.toHaveBeenCalled();
      expect(published.map((p) => p.mock.calls.length)).toEqual(published.map(() => 0));
      expect(builders.map((b) => b.mock.calls.length)).toEqual(builders.map(() => 0));
    } finally {
      tracePromise.mockRestore();
      for (const spy of [...published, ...builders]) spy.mockRestore();
    }
  });
});
