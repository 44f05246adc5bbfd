import { Cache } from '../Cache';
import { closestName } from './optionKeys';

describe('unknown option names', () => {
  it('new Cache() names the unknown option and the closest valid one', () => {
    expect(() => new Cache({ tll: '1m' } as never)).toThrow(new TypeError('unknown Cache option `tll`: did you mean `ttl`?'));
    expect(() => new Cache({ maxsize: 10 } as never)).toThrow(new TypeError('unknown Cache option `maxsize`: did you mean `maxSize`?'));
  });

  it('lists the valid names when none is close', () => {
    expect(() => new Cache({ unknownOpt: 1 } as never)).toThrow(
      /^unknown Cache option `unknownOpt`: use one of ttl, failSafe, jitter, tags, failSafeThrottle, softTimeout, hardTimeout, refreshAhead, cacheNullish, shouldCache, distributedLock, lockTimeout, lockWaitTimeout, maxSize, isolation, prefix, version, onEvent, onListenerError, clock, store, backplane, lock, atomicFallback, autoRecovery$/,
    );
  });

  it('cache.scope() and cache.cached() check their options, and a refused call creates no scope', () => {
    const cache = new Cache();
    expect(() => cache.scope('users', { hardTimout: '1s' } as never)).toThrow(
      new TypeError('unknown scope `users` option `hardTimout`: did you mean `hardTimeout`?'),
    );
    expect(cache.scopeNames).toEqual([]);
    expect(() => cache.cached(async (id: number) => id, { skipArg: 1 } as never)).toThrow(
      new TypeError('unknown cached() option `skipArg`: did you mean `skipArgs`?'),
    );
    expect(cache.scopeNames).toEqual([]);
    // Valid options still work after a refusal.
    expect(cache.scope('users', { hardTimeout: '1s' }).name).toBe('users');
  });

  it('per-call options are checked too: getOrSet, set, setMany, setIfAbsent, incr, warmup, batchLoader', async () => {
    const scope = new Cache().scope<number>('counters');
    await expect(scope.getOrSet('a', () => 1, { tll: 5 } as never)).rejects.toThrow(
      new TypeError('unknown getOrSet() option `tll`: did you mean `ttl`?'),
    );
    await expect(scope.set('a', 1, { tag: ['x'] } as never)).rejects.toThrow(
      new TypeError('unknown setMany() option `tag`: did you mean `tags`?'),
    );
    await expect(scope.setIfAbsent('a', 1, { jiter: 5 } as never)).rejects.toThrow(
      new TypeError('unknown setIfAbsent() option `jiter`: did you mean `jitter`?'),
    );
    await expect(scope.incr('a', 1, { hardTimeout: 5 } as never)).rejects.toThrow(
      new TypeError('unknown incr() option `hardTimeout`: use one of ttl, failSafe, jitter, tags'),
    );
    await expect(scope.warmup({ a: () => 1 }, { signal: new AbortController().signal } as never)).rejects.toThrow(
      /^unknown warmup\(\) option `signal`: use one of ttl, /,
    );
    expect(() => scope.batchLoader(async (keys: string[]) => keys.map(() => 1), { windowMS: 5 } as never)).toThrow(
      new TypeError('unknown batchLoader() option `windowMS`: did you mean `windowMs`?'),
    );
    expect(scope.keys()).toEqual([]);
  });

  it('closestName() takes typos of up to a third of the name (at most 3 edits), ignoring case', () => {
    expect(closestName('maxAttempt', ['maxAttempts', 'delay'])).toBe('maxAttempts');
    expect(closestName('TTL', ['ttl', 'tags'])).toBe('ttl');
    expect(closestName('ttx', ['ttl'])).toBe('ttl');
    expect(closestName('retyr', ['retry', 'timeout'])).toBe('retry');
    expect(closestName('abc', ['ttl'])).toBeUndefined();
    expect(closestName('failSafeThrotl', ['failSafeThrottle', 'failSafe'])).toBe('failSafeThrottle');
  });
});
