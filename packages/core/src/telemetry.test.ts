import { Cache } from '@toolkit/cache';
import { ResilienceRegistry, circuitStates, enumLabel, errorType, telemetryCaches } from './index';
import type { TelemetryTargets } from './index';

describe('telemetry vocabulary shared by the exporters', () => {
  it('errorType() is the error name, the class name for a blank name, _OTHER for a non-Error', () => {
    expect(errorType(new TypeError('x'))).toBe('TypeError');
    class QuotaError extends Error {}
    const blank = new QuotaError('x');
    blank.name = '';
    expect(errorType(blank)).toBe('QuotaError');
    const long = new Error('x');
    long.name = 'E'.repeat(65);
    expect(errorType(long)).toBe('Error');
    expect(errorType('a string')).toBe('_OTHER');
    expect(errorType(undefined)).toBe('_OTHER');
  });

  it('enumLabel() writes enum values in snake_case', () => {
    expect(enumLabel('half-open')).toBe('half_open');
    expect(enumLabel('soft-timeout')).toBe('soft_timeout');
    expect(enumLabel('closed')).toBe('closed');
  });

  it('telemetryCaches() returns each cache once, whether given directly or through the registry', () => {
    const cache = new Cache();
    const other = new Cache();
    const registry = new ResilienceRegistry({ cache });
    expect(telemetryCaches({ cache })).toEqual([cache]);
    expect(telemetryCaches({ registry })).toEqual([cache]);
    expect(telemetryCaches({ cache, registry })).toEqual([cache]);
    const both = telemetryCaches({ cache: other, registry });
    expect(both).toHaveLength(2);
    expect(both[0]).toBe(other);
    expect(both[1]).toBe(cache);
    expect(telemetryCaches({ registry: new ResilienceRegistry() })).toHaveLength(1);
  });

  it('telemetryCaches() refuses missing or wrong targets with a TypeError naming the option', () => {
    expect(() => telemetryCaches({})).toThrow(new TypeError('instrument() needs a `cache`, a `registry`, or both'));
    expect(() => telemetryCaches(null as unknown as TelemetryTargets)).toThrow(
      new TypeError('instrument() takes an options object such as { cache } or { registry }'),
    );
    expect(() => telemetryCaches({ cache: {} as Cache })).toThrow(new TypeError('`cache` must be a Cache (an object with on())'));
    expect(() => telemetryCaches({ registry: null as unknown as ResilienceRegistry })).toThrow(
      new TypeError('`registry` must be a ResilienceRegistry (an object with on())'),
    );
  });

  it("circuitStates() lists the registry's named breakers, then the extra ones, as label values", () => {
    const registry = new ResilienceRegistry();
    registry.resilient({ name: 'payments', circuitBreaker: { failureThreshold: 1 } });
    const held = registry.resilient({ circuitBreaker: {} })(async () => 1);
    held.circuitBreaker?.isolate();
    expect([...circuitStates(registry, [held.circuitBreaker!, { name: 'inventory', state: 'half-open' }])]).toEqual([
      ['payments', 'closed'],
      [held.circuitBreaker!.name, 'isolated'],
      ['inventory', 'half_open'],
    ]);
  });
});
