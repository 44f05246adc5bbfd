import { toMs, ttlToMs } from './duration';
import { DEFAULT_POLICY, resolveMaxSize, resolvePolicy, ttlFor } from './resolveOptions';

describe('durations', () => {
  it('accepts milliseconds and duration strings', () => {
    expect(toMs(250, 'ttl')).toBe(250);
    expect(toMs('30s', 'ttl')).toBe(30_000);
    expect(toMs('5m', 'ttl')).toBe(300_000);
    expect(toMs('1.5h', 'ttl')).toBe(5_400_000);
  });

  it('rejects negative and unreadable durations, naming the option', () => {
    expect(() => toMs(-1, 'ttl')).toThrow(RangeError);
    expect(() => toMs('-5s', 'failSafe')).toThrow(/`failSafe` must not be negative/);
    expect(() => toMs('soon', 'jitter')).toThrow(/`jitter` must be a number of milliseconds or a duration string/);
    expect(() => toMs(Number.NaN, 'ttl')).toThrow(TypeError);
    expect(() => toMs('', 'ttl')).toThrow(TypeError);
  });

  it('reads 0, Infinity and null as a TTL that never expires', () => {
    expect(ttlToMs(0, 'ttl')).toBe(Number.POSITIVE_INFINITY);
    expect(ttlToMs(Number.POSITIVE_INFINITY, 'ttl')).toBe(Number.POSITIVE_INFINITY);
    expect(ttlToMs(null, 'ttl')).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('resolvePolicy', () => {
  it('replaces supplied values and inherits omitted (or undefined) ones', () => {
    const cacheLevel = resolvePolicy(DEFAULT_POLICY, { ttl: '2m', failSafe: '10m', jitter: '10s' });
    const scopeLevel = resolvePolicy(cacheLevel, { ttl: '30s', jitter: undefined });
    expect(scopeLevel.ttl).toBe(30_000);
    expect(scopeLevel.failSafe).toBe(600_000);
    expect(scopeLevel.jitter).toBe(10_000);
    expect(scopeLevel.failSafeThrottle).toBe(DEFAULT_POLICY.failSafeThrottle);
  });

  it('turns timeouts off with null', () => {
    const withTimeout = resolvePolicy(DEFAULT_POLICY, { hardTimeout: '3s' });
    expect(resolvePolicy(withTimeout, { hardTimeout: null }).hardTimeout).toBe(Number.POSITIVE_INFINITY);
  });

  it('rejects a softTimeout that is not shorter than hardTimeout', () => {
    expect(() => resolvePolicy(DEFAULT_POLICY, { softTimeout: '3s', hardTimeout: '2s' })).toThrow(
      /`softTimeout` \(3000 ms\) must be shorter than `hardTimeout` \(2000 ms\)/,
    );
  });

  it('refuses soft and hard timeouts a Node.js timer cannot wait (they would fire after 1 ms)', () => {
    for (const option of ['softTimeout', 'hardTimeout'] as const) {
      expect(() => resolvePolicy(DEFAULT_POLICY, { [option]: 2 ** 31 })).toThrow(
        new RangeError(`\`${option}\` must be at most 2147483647 ms (about 24.8 days, the longest a timer can wait), got 2147483648`),
      );
      expect(() => resolvePolicy(DEFAULT_POLICY, { [option]: '30d' })).toThrow(RangeError);
    }
    expect(resolvePolicy(DEFAULT_POLICY, { hardTimeout: 2 ** 31 - 1 }).hardTimeout).toBe(2 ** 31 - 1);
    expect(resolvePolicy(DEFAULT_POLICY, { hardTimeout: Number.POSITIVE_INFINITY }).hardTimeout).toBe(Number.POSITIVE_INFINITY);
  });

  it('refuses a jitter of Infinity, or larger than the ttl it spreads', () => {
    expect(() => resolvePolicy(DEFAULT_POLICY, { jitter: Number.POSITIVE_INFINITY })).toThrow(
      new RangeError('`jitter` must be a finite duration, got Infinity'),
    );
    expect(() => resolvePolicy(DEFAULT_POLICY, { ttl: '10s', jitter: '11s' })).toThrow(
      new RangeError('`jitter` (11000 ms) must not exceed `ttl` (10000 ms): it spreads expiries by up to that much; lower it or raise the ttl'),
    );
    const spread = resolvePolicy(DEFAULT_POLICY, { ttl: '10s', jitter: '10s' });
    expect(spread.jitter).toBe(10_000);
    expect(() => resolvePolicy(spread, { ttl: '5s' })).toThrow(/`jitter` \(10000 ms\) must not exceed `ttl` \(5000 ms\)/);
    expect(resolvePolicy(spread, { ttl: null }).jitter).toBe(10_000);
  });

  it('refuses a lockTimeout of 0 or Infinity (a lock must expire for a crashed holder)', () => {
    expect(() => resolvePolicy(DEFAULT_POLICY, { lockTimeout: 0 })).toThrow(/`lockTimeout` must be a finite duration/);
    expect(() => resolvePolicy(DEFAULT_POLICY, { lockTimeout: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(resolvePolicy(DEFAULT_POLICY, { lockTimeout: '5s' }).lockTimeout).toBe(5_000);
  });

  it('lockWaitTimeout is its own option, distinct from the lock\'s TTL; anything but a finite duration > 0 is a TypeError naming it', () => {
    expect([DEFAULT_POLICY.lockTimeout, DEFAULT_POLICY.lockWaitTimeout]).toEqual([10_000, 30_000]);
    const policy = resolvePolicy(DEFAULT_POLICY, { lockTimeout: '2s', lockWaitTimeout: '45s' });
    expect([policy.lockTimeout, policy.lockWaitTimeout]).toEqual([2_000, 45_000]);
    expect(resolvePolicy(policy, { ttl: 1 }).lockWaitTimeout).toBe(45_000); // inherited
    for (const bad of [0, -1, Number.POSITIVE_INFINITY, Number.NaN, '', 'soon', null, true, {}]) {
      expect(() => resolvePolicy(DEFAULT_POLICY, { lockWaitTimeout: bad as never })).toThrow(TypeError);
    }
    expect(() => resolvePolicy(DEFAULT_POLICY, { lockWaitTimeout: -5 })).toThrow(
      "`lockWaitTimeout` must be a finite duration greater than 0 (ms or a string such as '30s'), got -5",
    );
  });

  it('rejects refreshAhead outside (0, 1)', () => {
    expect(() => resolvePolicy(DEFAULT_POLICY, { refreshAhead: 1.5 })).toThrow(/`refreshAhead` must be a fraction/);
    expect(() => resolvePolicy(DEFAULT_POLICY, { refreshAhead: 1 })).toThrow(RangeError);
    expect(resolvePolicy(DEFAULT_POLICY, { refreshAhead: 0.8 }).refreshAhead).toBe(0.8);
  });

  it('rejects bad types with a TypeError naming the option', () => {
    expect(() => resolvePolicy(DEFAULT_POLICY, { cacheNullish: 'yes' as never })).toThrow(/`cacheNullish` must be a boolean/);
    expect(() => resolvePolicy(DEFAULT_POLICY, { shouldCache: 1 as never })).toThrow(/`shouldCache` must be a function/);
    expect(() => resolvePolicy(DEFAULT_POLICY, { tags: ['ok', ''] })).toThrow(/`tags` must be an array of non-empty strings/);
    expect(() => resolvePolicy(DEFAULT_POLICY, { ttl: -5 })).toThrow(/`ttl` must not be negative/);
    expect(() => resolvePolicy(DEFAULT_POLICY, 5 as never)).toThrow(TypeError);
  });

  it('evaluates a dynamic TTL against the value and validates what it returns', () => {
    const policy = resolvePolicy(DEFAULT_POLICY, { ttl: (v: unknown) => ((v as { vip: boolean }).vip ? '1h' : '1m') });
    expect(ttlFor(policy, { vip: true })).toBe(3_600_000);
    expect(ttlFor(policy, { vip: false })).toBe(60_000);
    const broken = resolvePolicy(DEFAULT_POLICY, { ttl: () => -1 });
    expect(() => ttlFor(broken, 1)).toThrow(/ttl \(returned by the ttl function\)/);
  });
});

describe('resolveMaxSize', () => {
  it('accepts positive integers and Infinity, inherits when omitted', () => {
    expect(resolveMaxSize(500, 1000)).toBe(500);
    expect(resolveMaxSize(undefined, 1000)).toBe(1000);
    expect(resolveMaxSize(Number.POSITIVE_INFINITY, 1000)).toBe(Number.POSITIVE_INFINITY);
  });

  it('rejects 0, negatives and fractions', () => {
    expect(() => resolveMaxSize(0, 1000)).toThrow(/`maxSize` must be a positive integer or Infinity, got 0/);
    expect(() => resolveMaxSize(-3, 1000)).toThrow(RangeError);
    expect(() => resolveMaxSize(2.5, 1000)).toThrow(RangeError);
  });
});
