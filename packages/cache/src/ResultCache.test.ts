import { ResultCache, makeKey } from './ResultCache';

describe('ResultCache (direct use)', () => {
  it('put / get / invalidate / clear with stats', () => {
    const cache = new ResultCache<{ name: string }>({ maxSize: 100, ttl: '1m' });
    const key = ResultCache.makeKey('user', 42);
    cache.put(key, { name: 'Alice' });
    expect(cache.get(key)).toEqual({ name: 'Alice' });
    expect(cache.stats).toEqual({ hits: 1, misses: 0, hitRate: 1, size: 1, maxSize: 100 });
    expect(cache.invalidate(key)).toBe(true);
    expect(cache.get(key)).toBeUndefined();
    expect(cache.stats).toEqual({ hits: 1, misses: 1, hitRate: 0.5, size: 0, maxSize: 100 });
    cache.put('a', { name: 'a' });
    cache.clear();
    expect(cache.stats.size).toBe(0);
  });

  it('makes type-safe keys from parts', () => {
    expect(makeKey('user', 42)).not.toBe(makeKey('user', '42'));
    expect(makeKey('user', 42)).toBe(makeKey('user', 42));
  });

  it('expires entries and evicts the least recently used', () => {
    jest.useFakeTimers();
    try {
      const cache = new ResultCache<number>({ maxSize: 2, ttl: 1000 });
      cache.put('a', 1);
      cache.put('b', 2);
      cache.get('a');
      cache.put('c', 3);
      expect(cache.get('b')).toBeUndefined();
      jest.advanceTimersByTime(1000);
      expect(cache.get('a')).toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });
});
