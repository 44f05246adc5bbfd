import { ResilienceRegistry } from './index';

describe('global listeners added after a pipeline exists', () => {
  it('receive its cache and pipeline events, even after garbage collection', async () => {
    const registry = new ResilienceRegistry();
    const fn = registry.resilient({ cache: { ttl: '1m' } })(async (n: number) => n);
    // With --expose-gc this collects anything only weakly held; without it the test still checks forwarding.
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const seen: string[] = [];
    const off = registry.on('*', (e) => seen.push(e.type));
    await fn(1);
    await fn(1);
    expect(seen).toEqual(['CACHE_MISS', 'SUCCESS', 'CACHE_HIT']);
    off();
    await fn(1);
    expect(seen).toHaveLength(3);
  });
});

describe('shared circuit breakers', () => {
  it('share by name, and refuse a second, different configuration', () => {
    const registry = new ResilienceRegistry();
    const a = registry.resilient({ circuitBreaker: { name: 'payments', failureThreshold: 3 } });
    const b = registry.resilient({ circuitBreaker: { name: 'payments' } });
    const c = registry.resilient({ circuitBreaker: { name: 'payments', failureThreshold: 3 } });
    expect(b.circuitBreaker).toBe(a.circuitBreaker);
    expect(c.circuitBreaker).toBe(a.circuitBreaker);
    expect(() => registry.resilient({ circuitBreaker: { name: 'payments', failureThreshold: 9 } })).toThrow(
      /circuit breaker `payments` already exists with other options/,
    );
  });
});
