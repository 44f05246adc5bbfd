import { ResilienceRegistry } from './index';
import type { ResilientOptions } from './index';

/**
 * A miss starts the function in the tick of the call, whatever the layers: 10,000 concurrent calls on 100
 * cold keys must not wait for all of them to be issued before the first load begins.
 */
describe('a call that runs the function', () => {
  const layers: Array<[string, ResilientOptions]> = [
    ['no layer', {}],
    ['cache', { cache: { ttl: '1m' } }],
    ['cache, retry, breaker, timeout', { cache: { ttl: '1m' }, retry: { maxAttempts: 3 }, circuitBreaker: {}, timeout: '1s' }],
    ['whole-call timeout', { timeout: { after: '1s', perAttempt: false } }],
  ];

  it.each(layers)('calls it synchronously, before the caller goes on (%s)', async (_name, options) => {
    const fn = jest.fn(async (id: number) => id);
    const wrapped = new ResilienceRegistry().resilient(options)(fn);
    const pending = wrapped(1);
    expect(fn).toHaveBeenCalledTimes(1);
    await expect(pending).resolves.toBe(1);
  });

  it('turns a synchronous throw into a rejection', async () => {
    const wrapped = new ResilienceRegistry().resilient({ retry: { maxAttempts: 1 } })((): number => {
      throw new RangeError('bad id');
    });
    await expect(wrapped()).rejects.toThrow(RangeError);
  });
});
