import { Cache } from '@toolkit/cache';
import { ResponseCache, errorResponse } from '@toolkit/http-cache';

const cache = new Cache();
const responses = new ResponseCache(cache, { ttl: '30s', staleOnError: '5m' });
const route = { tags: ['item:{id}'], vary: { headers: ['accept-language'] } };
const request = { method: 'GET', url: '/items/1', headers: {}, params: { id: '1' } };

const lookup = await responses.begin(request, route, request);
if (lookup.action === 'serve') {
  // send lookup.response: its status, its headers (X-Cache: HIT or STALE, Age, max-age, ETag), its body
} else if (lookup.action === 'lead') {
  try {
    const body = Buffer.from(JSON.stringify({ id: 1 })); // ← your handler runs here
    const answer = await lookup.lead.complete({ status: 200, headers: { 'content-type': 'application/json' }, body });
    console.log(answer.headers['x-cache']); // 'MISS'
  } catch (error) {
    const stale = await lookup.lead.fail(error); // a stale copy within staleOnError, or undefined
    const mapped = errorResponse(error, { circuitRetryAfter: '10s' }); // 503/504 for resilient() errors
    console.log(stale?.status ?? mapped?.status ?? 500);
  }
} // else 'pass': not cacheable, run the handler as usual

await responses.invalidate(['item:{id}'], request, request); // from a write route
await cache.close();
