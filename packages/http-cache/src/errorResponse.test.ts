import { CacheTimeoutError } from '@toolkit/cache';
import { BulkheadFullError, CircuitOpenError, RateLimitedError, TimeoutError } from '@toolkit/core';
import { errorResponse } from './errorResponse';

const json = (body: Buffer | undefined) => JSON.parse(body?.toString() ?? 'null') as Record<string, string>;

describe('errorResponse', () => {
  it('maps an open circuit to 503, with Retry-After when known', () => {
    const open = new CircuitOpenError({ functionName: 'getUser' });
    const plain = errorResponse(open);
    expect(plain?.status).toBe(503);
    expect(plain?.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    expect(json(plain?.body)).toEqual({ error: 'Service Unavailable', code: 'E_CIRCUIT_OPEN', message: open.message });
    expect(errorResponse(open, { circuitRetryAfter: '10s' })?.headers['retry-after']).toBe('10');
    expect(errorResponse(Object.assign(open, { retryAfterMs: 2500 }), { circuitRetryAfter: '10s' })?.headers['retry-after']).toBe('3');
    // Isolated by hand: nobody knows when it reopens.
    expect(errorResponse(new CircuitOpenError({ isolated: true }), { circuitRetryAfter: '10s' })?.headers['retry-after']).toBeUndefined();
  });

  it('maps a full bulkhead and a rate limit to 503, a timeout to 504', () => {
    expect(errorResponse(new BulkheadFullError({ maxConcurrent: 1, maxQueue: 0 }))?.status).toBe(503);
    const limited = errorResponse(new RateLimitedError({ retryAfterMs: 200 }));
    expect([limited?.status, limited?.headers['retry-after']]).toEqual([503, '1']);
    const timeout = errorResponse(new TimeoutError({ timeoutMs: 50 }), { exposeMessage: false });
    expect([timeout?.status, json(timeout?.body)]).toEqual([504, { error: 'Gateway Timeout', code: 'E_TIMEOUT' }]);
    expect(errorResponse(new CacheTimeoutError('k', 'http', 50))?.status).toBe(504);
  });

  it('leaves other errors to the framework', () => {
    expect(errorResponse(new Error('boom'))).toBeUndefined();
    expect(errorResponse('nope')).toBeUndefined();
    expect(errorResponse(Object.assign(new Error('x'), { code: 'E_TIMEOUT' }))).toBeUndefined();
  });
});
