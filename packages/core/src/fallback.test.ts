// The fallback layer of resilient(): its forms, which errors it answers, and what it never answers.
import { CircuitOpenError, isCircuitOpenError, ResilienceRegistry } from './index';
import type { ResilienceEvent } from './index';

class NotFoundError extends Error {
  override name = 'NotFoundError';
}
class UpstreamError extends Error {
  override name = 'UpstreamError';
}

/** The rejection of `promise`; fails the test when it resolves. Attach it before advancing timers. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (error) {
    return error;
  }
}

function failingWith(error: unknown) {
  return jest.fn(async (..._args: unknown[]): Promise<string> => {
    throw error;
  });
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('forms of the fallback', () => {
  it('a plain value answers for a failed call', async () => {
    const registry = new ResilienceRegistry();
    const wrapped = registry.resilient({ fallback: 'default' })(failingWith(new UpstreamError('down')));
    await expect(wrapped(1)).resolves.toBe('default');
  });

  it('a function receives the real error and the call arguments', async () => {
    const registry = new ResilienceRegistry();
    const failure = new UpstreamError('down');
    const handler = jest.fn((error: unknown, args: [id: number, lang: string]) => `fallback for ${args[0]} (${args[1]}): ${(error as Error).message}`);
    const wrapped = registry.resilient<[id: number, lang: string], string, string>({ fallback: handler })(
      async (_id: number, _lang: string): Promise<string> => {
        throw failure;
      },
    );

    await expect(wrapped(7, 'fr')).resolves.toBe('fallback for 7 (fr): down');
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler.mock.calls[0]?.[0]).toBe(failure);
    expect(handler.mock.calls[0]?.[1]).toEqual([7, 'fr']);
  });

  it('an async handler is awaited', async () => {
    const registry = new ResilienceRegistry();
    const wrapped = registry.resilient({
      fallback: async (error: unknown) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return `late: ${(error as Error).message}`;
      },
    })(failingWith(new Error('boom')));

    const call = wrapped();
    await jest.advanceTimersByTimeAsync(50);
    await expect(call).resolves.toBe('late: boom');
  });

  it('a handler that throws rejects the call with its error', async () => {
    const registry = new ResilienceRegistry();
    const handlerError = new Error('the fallback failed too');
    const wrapped = registry.resilient<unknown[], string, string>({
      fallback: () => {
        throw handlerError;
      },
    })(failingWith(new Error('boom')));
    expect(await rejection(wrapped())).toBe(handlerError);
  });

  it('a function handler is called, not returned: to answer with a function, return it from a handler', async () => {
    const registry = new ResilienceRegistry();
    const noop = () => 'noop';
    const wrapped = registry.resilient({ fallback: () => noop })(
      async (): Promise<() => string> => {
        throw new Error('boom');
      },
    );
    await expect(wrapped()).resolves.toBe(noop);
  });

  it('{ handler } is the same as the handler alone', async () => {
    const registry = new ResilienceRegistry();
    const wrapped = registry.resilient({ fallback: { handler: (_e: unknown, args: unknown[]) => `h${String(args[0])}` } })(
      failingWith(new Error('boom')),
    );
    await expect(wrapped(3)).resolves.toBe('h3');
  });

  it('without a cache the fallback value is returned as is (same object, not wrapped)', async () => {
    const registry = new ResilienceRegistry();
    const defaults = { items: [] as string[] };
    const wrapped = registry.resilient({ fallback: defaults })(
      async (): Promise<{ items: string[] }> => {
        throw new Error('boom');
      },
    );
    expect(await wrapped()).toBe(defaults);
    expect(await wrapped()).toBe(defaults);
  });

  it('with a cache the caller still gets the plain fallback value (not a wrapper), and it is not stored', async () => {
    const registry = new ResilienceRegistry();
    const defaults = { items: [] as string[] };
    const wrapped = registry.resilient({ cache: { ttl: '1m' }, fallback: defaults })(
      async (_id: number): Promise<{ items: string[] }> => {
        throw new Error('boom');
      },
    );
    expect(await wrapped(1)).toBe(defaults);
    expect(wrapped.cache?.scope.size).toBe(0);
  });

  it('an undefined value from a handler is returned as the answer', async () => {
    const registry = new ResilienceRegistry();
    const wrapped = registry.resilient<[], string | undefined, string | undefined>({ fallback: () => undefined })(
      async (): Promise<string | undefined> => {
        throw new Error('boom');
      },
    );
    await expect(wrapped()).resolves.toBeUndefined();
  });
});

describe('which errors the fallback answers', () => {
  it('fallbackOn [SomeError]: only matching errors get the fallback, others reach the caller', async () => {
    const registry = new ResilienceRegistry();
    const events: ResilienceEvent[] = [];
    const policy = registry.resilient<unknown[], string, string>({
      fallback: { handler: 'not found', fallbackOn: [NotFoundError] },
      onEvent: (e) => void events.push(e),
    });
    const missing = policy(failingWith(new NotFoundError('no such user')));
    const upstream = new UpstreamError('down');
    const broken = policy(failingWith(upstream));

    await expect(missing()).resolves.toBe('not found');
    expect(await rejection(broken())).toBe(upstream);
    expect(events.map((e) => e.type)).toEqual(['FALLBACK_USED', 'FAILURE']);
    expect(events[1]?.error).toBe(upstream);
  });

  it('fallbackOn takes predicates too', async () => {
    const registry = new ResilienceRegistry();
    const policy = registry.resilient<unknown[], string, string>({
      fallback: { handler: 'gone', fallbackOn: [(e) => (e as { status?: number }).status === 410] },
    });
    const gone = Object.assign(new Error('gone'), { status: 410 });
    const other = Object.assign(new Error('teapot'), { status: 418 });
    await expect(policy(failingWith(gone))()).resolves.toBe('gone');
    expect(await rejection(policy(failingWith(other))())).toBe(other);
  });

  it('is not used for retry.ignoreOn errors: they are neither retried nor answered, and reach the caller as they are', async () => {
    const registry = new ResilienceRegistry();
    const handler = jest.fn(() => 'fallback');
    const invalid = new NotFoundError('invalid id');
    const fn = failingWith(invalid);
    const wrapped = registry.resilient({
      retry: { maxAttempts: 3, delay: 10, ignoreOn: [NotFoundError] },
      fallback: handler,
    })(fn);

    const call = rejection(wrapped());
    await jest.advanceTimersByTimeAsync(1000);
    expect(await call).toBe(invalid);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(handler).not.toHaveBeenCalled();
  });

  it('retry.ignoreOn wins over a fallbackOn that matches the same error', async () => {
    const registry = new ResilienceRegistry();
    const invalid = new NotFoundError('invalid id');
    const wrapped = registry.resilient({
      retry: { maxAttempts: 2, ignoreOn: [NotFoundError] },
      fallback: { handler: 'fallback', fallbackOn: [NotFoundError] },
    })(failingWith(invalid));
    expect(await rejection(wrapped())).toBe(invalid);
  });

  it('answers after the retries are exhausted, with the last error', async () => {
    const registry = new ResilienceRegistry();
    let attempt = 0;
    const errors: Error[] = [];
    const handler = jest.fn((error: unknown) => `fallback after ${(error as Error).message}`);
    const wrapped = registry.resilient({ retry: { maxAttempts: 3, delay: 10, jitter: false }, fallback: handler })(
      async (): Promise<string> => {
        const error = new Error(`attempt ${++attempt}`);
        errors.push(error);
        throw error;
      },
    );
    const call = wrapped();
    await jest.advanceTimersByTimeAsync(100);
    await expect(call).resolves.toBe('fallback after attempt 3');
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler.mock.calls[0]?.[0]).toBe(errors[2]);
  });

  it('answers a rejection of the pipeline itself: an isolated circuit', async () => {
    const registry = new ResilienceRegistry();
    const handler = jest.fn((error: unknown) => (isCircuitOpenError(error) ? 'circuit open' : 'other'));
    const fn = jest.fn(async () => 'live');
    const wrapped = registry.resilient<[], string, string>({ circuitBreaker: {}, fallback: handler })(fn);
    wrapped.circuitBreaker?.isolate();

    await expect(wrapped()).resolves.toBe('circuit open');
    expect(fn).not.toHaveBeenCalled();
    expect(handler.mock.calls[0]?.[0]).toBeInstanceOf(CircuitOpenError);
  });

  it('answers a rate-limited call and a call the full bulkhead rejected, with the pipeline\'s error', async () => {
    const registry = new ResilienceRegistry();
    const seen: string[] = [];
    const handler = (error: unknown) => {
      seen.push((error as { code?: string }).code ?? 'no code');
      return 'fallback';
    };
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const limited = registry.resilient<[], string, string>({ rateLimiter: { maxCalls: 1, period: '1h' }, fallback: handler })(
      async () => 'live',
    );
    const bounded = registry.resilient<[], string, string>({ bulkhead: { maxConcurrent: 1 }, fallback: handler })(async () => {
      await gate;
      return 'live';
    });

    await expect(limited()).resolves.toBe('live');
    await expect(limited()).resolves.toBe('fallback');
    const holding = bounded();
    await expect(bounded()).resolves.toBe('fallback');
    release();
    await expect(holding).resolves.toBe('live');
    expect(seen).toEqual(['E_RATE_LIMITED', 'E_BULKHEAD_FULL']);
  });

  it('a caller abort is not answered by the fallback: the call ends with the abort (FAILURE), even mid-retry', async () => {
    const registry = new ResilienceRegistry();
    const events: ResilienceEvent[] = [];
    const handler = jest.fn(() => 'fallback');
    const fn = failingWith(new UpstreamError('down'));
    const wrapped = registry.resilient({
      retry: { maxAttempts: 3, delay: 1000, jitter: false },
      fallback: handler,
      onEvent: (e) => void events.push(e),
    })(fn);
    const controller = new AbortController();
    const call = rejection(wrapped.withSignal(controller.signal)());
    await jest.advanceTimersByTimeAsync(10); // the first attempt failed; the retry sleeps
    controller.abort();
    const error = await call;
    expect((error as { name?: string }).name).toBe('AbortError');
    await jest.advanceTimersByTimeAsync(5000);
    expect(fn).toHaveBeenCalledTimes(1); // the abort cut the sleep short
    expect(handler).not.toHaveBeenCalled();
    expect(events.map((e) => e.type)).toEqual(['RETRY', 'FAILURE']);
    expect((events[1]?.error as { name?: string }).name).toBe('AbortError');
  });
});

describe('FALLBACK_USED', () => {
  it('carries the error, the attempts and the key of the call', async () => {
    const registry = new ResilienceRegistry();
    const events: ResilienceEvent[] = [];
    const failure = new UpstreamError('down');
    const wrapped = registry.resilient({
      cache: { ttl: '1m' },
      retry: { maxAttempts: 2, delay: 10, jitter: false },
      fallback: 'fallback',
      onEvent: (e) => void events.push(e),
    })(async function lookup(_id: number): Promise<string> {
      throw failure;
    });

    const call = wrapped(5);
    await jest.advanceTimersByTimeAsync(10);
    await call;
    const used = events.find((e) => e.type === 'FALLBACK_USED');
    expect(used).toMatchObject({
      type: 'FALLBACK_USED',
      functionName: 'lookup',
      key: wrapped.cache?.keyFor(5),
      attempt: 2,
      error: failure,
    });
    expect(events.some((e) => e.type === 'FAILURE' || e.type === 'SUCCESS')).toBe(false);
  });
});
