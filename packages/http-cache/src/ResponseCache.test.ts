import { Cache } from '@toolkit/cache';
import { ResponseCache } from './ResponseCache';
import type { CapturedResponse, HttpRequest, Lead, Lookup } from './ResponseCache';
import type { RouteCacheOptions } from './ResponseCacheOptions';

const get = (url: string, headers: HttpRequest['headers'] = {}, params?: Record<string, unknown>): HttpRequest => ({ method: 'GET', url, headers, params });
const ok = (body: string, headers: CapturedResponse['headers'] = {}, status = 200): CapturedResponse => ({
  status,
  headers: { 'content-type': 'text/plain', ...headers },
  body: Buffer.from(body),
});

/** Every lead a test took: abandoned after it (a no-op when it was settled), so that close() waits for nothing. */
const leads: Lead[] = [];
function expectLead(lookup: Lookup) {
  if (lookup.action !== 'lead') throw new Error(`expected a lead, got ${lookup.action}`);
  leads.push(lookup.lead);
  return lookup.lead;
}
function expectServe(lookup: Lookup) {
  if (lookup.action !== 'serve') throw new Error(`expected serve, got ${lookup.action}`);
  return lookup.response;
}

describe('ResponseCache', () => {
  let cache: Cache;
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    cache = new Cache();
  });
  afterEach(async () => {
    for (const lead of leads.splice(0)) lead.abandon();
    jest.useRealTimers();
    await cache.close();
  });

  const route: RouteCacheOptions = { ttl: '60s' };

  it('answers a miss from the handler, then hits with Age and a max-age counting down', async () => {
    const http = new ResponseCache(cache);
    const lead = expectLead(await http.begin(get('/a'), route, undefined));
    const miss = await lead.complete(ok('one'));
    expect(miss.status).toBe(200);
    expect(miss.body.toString()).toBe('one');
    expect(miss.headers).toMatchObject({ 'x-cache': 'MISS', age: '0', 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
    expect(miss.headers.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);

    await jest.advanceTimersByTimeAsync(10_500);
    const hit = expectServe(await http.begin(get('/a'), route, undefined));
    expect(hit.status).toBe(200);
    expect(hit.body.toString()).toBe('one');
    expect(hit.headers).toMatchObject({ 'x-cache': 'HIT', age: '10', 'cache-control': 'max-age=49', etag: miss.headers.etag });

    await jest.advanceTimersByTimeAsync(49_499); // 59.999 s old: still fresh, max-age 0
    expect(expectServe(await http.begin(get('/a'), route, undefined)).headers).toMatchObject({ age: '59', 'cache-control': 'max-age=0' });
    await jest.advanceTimersByTimeAsync(1);
    expectLead(await http.begin(get('/a'), route, undefined)); // expired: the handler runs again
  });

  it('keeps the response’s other Cache-Control directives and its own ETag', async () => {
    const http = new ResponseCache(cache);
    const lead = expectLead(await http.begin(get('/a'), route, undefined));
    const miss = await lead.complete(ok('one', { 'Cache-Control': 'public, max-age=3600, s-maxage=10', ETag: 'W/"v1"' }));
    expect(miss.headers).toMatchObject({ 'cache-control': 'public, max-age=60', etag: 'W/"v1"' });
  });

  it('answers 304 to a matching If-None-Match, with the validators and no body', async () => {
    const http = new ResponseCache(cache);
    const etag = (await expectLead(await http.begin(get('/a'), route, undefined)).complete(ok('one'))).headers.etag as string;
    await jest.advanceTimersByTimeAsync(2000);
    const notModified = expectServe(await http.begin(get('/a', { 'if-none-match': `"other", W/${etag}` }), route, undefined));
    expect(notModified).toEqual({ status: 304, headers: { etag, 'cache-control': 'max-age=58', age: '2', 'x-cache': 'HIT' }, body: Buffer.alloc(0) });
    expect(expectServe(await http.begin(get('/a', { 'if-none-match': '"other"' }), route, undefined)).status).toBe(200);
    // The leader's own request too: its handler answered in full, the 304 is ours.
    const lead = expectLead(await http.begin(get('/b', { 'if-none-match': '*' }), route, undefined));
    expect((await lead.complete(ok('two'))).status).toBe(304);
  });

  it.each([
    ['Set-Cookie', ok('x', { 'Set-Cookie': 'sid=1' })],
    ['Cache-Control: no-store', ok('x', { 'cache-control': 'no-store' })],
    ['Cache-Control: private', ok('x', { 'cache-control': 'private, max-age=60' })],
    ['Cache-Control: no-cache', ok('x', { 'cache-control': 'no-cache' })],
    ['Vary: *', ok('x', { vary: '*' })],
    ['a 404', ok('x', {}, 404)],
    ['a 500', ok('x', {}, 500)],
    ['a 206', ok('x', {}, 206)],
    ['a body over maxBodyBytes', ok('x'.repeat(11))],
  ])('never stores a response with %s (sent as is, X-Cache: MISS)', async (_, response) => {
    const http = new ResponseCache(cache, { maxBodyBytes: 10 });
    const sent = await expectLead(await http.begin(get('/a'), route, undefined)).complete(response);
    expect(sent.status).toBe(response.status);
    expect(sent.headers['x-cache']).toBe('MISS');
    expect(sent.headers.etag).toBeUndefined();
    expect(sent.headers.age).toBeUndefined();
    if ('Set-Cookie' in response.headers) expect(sent.headers['set-cookie']).toBe('sid=1'); // the leader keeps its cookie
    expectLead(await http.begin(get('/a'), route, undefined));
  });

  it('stores the statuses it is told to', async () => {
    const http = new ResponseCache(cache, { statuses: [200, 404] });
    await expectLead(await http.begin(get('/a'), route, undefined)).complete(ok('gone', {}, 404));
    const hit = expectServe(await http.begin(get('/a'), route, undefined));
    expect([hit.status, hit.body.toString(), hit.headers['x-cache']]).toEqual([404, 'gone', 'HIT']);
  });

  it('passes methods other than GET and HEAD, and authenticated requests', async () => {
    const http = new ResponseCache(cache);
    expect(await http.begin({ method: 'POST', url: '/a', headers: {} }, route, undefined)).toEqual({ action: 'pass' });
    expect(await http.begin({ method: 'DELETE', url: '/a', headers: {} }, route, undefined)).toEqual({ action: 'pass' });
    expect(await http.begin(get('/a', { authorization: 'Bearer x' }), route, undefined)).toEqual({ action: 'pass' });
    expectLead(await http.begin({ method: 'head', url: '/a', headers: {} }, route, undefined));
    expectLead(await http.begin(get('/a', { authorization: 'Bearer x' }), { vary: { headers: ['Authorization'] } }, undefined));
    const posts = new ResponseCache(cache, { scope: 'posts', methods: ['POST'] });
    expectLead(await posts.begin({ method: 'POST', url: '/a', headers: {} }, route, undefined));
  });

  it('keys by method, path, query (any order) and the varied headers', async () => {
    const http = new ResponseCache(cache);
    const vary: RouteCacheOptions = { vary: { headers: ['Accept-Language'] } };
    expect(http.keyFor(get('/a?b=2&a=1&a=0'), vary)).toBe('GET /a?a=1&a=0&b=2#accept-language=');
    expect(http.keyFor(get('/a?a=1&a=0&b=2', { 'accept-language': 'fr' }), vary)).toBe('GET /a?a=1&a=0&b=2#accept-language=fr');
    expect(http.keyFor({ method: 'head', url: '/a', headers: {} }, route)).toBe('HEAD /a?');
    const page: RouteCacheOptions = { vary: { query: ['page'] } };
    expect(http.keyFor(get('/list?utm=x&page=2'), page)).toBe(http.keyFor(get('/list?page=2&utm=y'), page));
    expect(http.keyFor(get('/list?page=2'), page)).not.toBe(http.keyFor(get('/list?page=3'), page));

    const sent = await expectLead(await http.begin(get('/a', { 'accept-language': 'fr' }), vary, undefined)).complete(ok('bonjour', { Vary: 'Accept-Encoding, accept-language' }));
    expect(sent.headers.vary).toBe('Accept-Encoding, accept-language');
    const added = await expectLead(await http.begin(get('/b'), vary, undefined)).complete(ok('b', { vary: 'Accept-Encoding' }));
    expect(added.headers.vary).toBe('Accept-Encoding, accept-language');
    expectLead(await http.begin(get('/a', { 'accept-language': 'en' }), vary, undefined));
    expect(expectServe(await http.begin(get('/a', { 'accept-language': 'fr' }), vary, undefined)).body.toString()).toBe('bonjour');
  });

  it('runs the handler once for concurrent identical requests, serving the others its response', async () => {
    const http = new ResponseCache(cache);
    const first = expectLead(await http.begin(get('/a'), route, undefined));
    const others = Promise.all([http.begin(get('/a'), route, undefined), http.begin(get('/a'), route, undefined)]);
    await jest.advanceTimersByTimeAsync(0);
    await first.complete(ok('once'));
    for (const lookup of await others) {
      expect(expectServe(lookup).body.toString()).toBe('once');
      expect(lookup.action === 'serve' && lookup.status).toBe('HIT');
    }
  });

  it('lets each waiting request run its own handler when the leader’s response is not shareable', async () => {
    const http = new ResponseCache(cache);
    const first = expectLead(await http.begin(get('/a'), route, undefined));
    const cookie = http.begin(get('/a'), route, undefined);
    await first.complete(ok('yours', { 'set-cookie': 'sid=1' }));
    expect(await cookie).toEqual({ action: 'pass' });

    const second = expectLead(await http.begin(get('/b'), route, undefined));
    const abandoned = http.begin(get('/b'), route, undefined);
    second.abandon();
    expect(await abandoned).toEqual({ action: 'pass' });
    expectLead(await http.begin(get('/b'), route, undefined));
  });

  it('serves the stale response when the handler fails within staleOnError, and says so', async () => {
    const http = new ResponseCache(cache, { staleOnError: '5m' });
    await expectLead(await http.begin(get('/a'), route, undefined)).complete(ok('old'));
    await jest.advanceTimersByTimeAsync(90_000);
    const lead = expectLead(await http.begin(get('/a'), route, undefined));
    const stale = await lead.fail(new Error('db down'));
    expect(stale?.status).toBe(200);
    expect(stale?.body.toString()).toBe('old');
    expect(stale?.headers).toMatchObject({ 'x-cache': 'STALE', age: '90', 'cache-control': 'max-age=0' });
    // The cache keeps serving it for its fail-safe throttle before asking the handler again.
    expect(expectServe(await http.begin(get('/a'), route, undefined)).headers['x-cache']).toBe('STALE');
  });

  it('has nothing to serve when the handler fails without a stale response', async () => {
    const http = new ResponseCache(cache, { staleOnError: '5m' });
    const lead = expectLead(await http.begin(get('/a'), route, undefined));
    const waiting = http.begin(get('/a'), route, undefined);
    expect(await lead.fail(new Error('down'))).toBeUndefined();
    expect(await waiting).toEqual({ action: 'pass' });
    expectLead(await http.begin(get('/a'), route, undefined));
  });

  it('lets identical requests wait for a hung leader only waitTimeout (30 s by default), then run their own handler', async () => {
    const http = new ResponseCache(cache);
    const hung = expectLead(await http.begin(get('/a'), route, undefined));
    let follower: Lookup | undefined;
    void http.begin(get('/a'), route, undefined).then((lookup) => (follower = lookup));
    await jest.advanceTimersByTimeAsync(29_999);
    expect(follower).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(follower).toEqual({ action: 'pass' });
    // The leader is not cut short: its response, when it comes, is stored and served.
    expect((await hung.complete(ok('late'))).headers['x-cache']).toBe('MISS');
    expect(expectServe(await http.begin(get('/a'), route, undefined)).body.toString()).toBe('late');
  });

  it('answers a follower of a hung leader from a response inside staleOnError, and waits as told', async () => {
    const http = new ResponseCache(cache, { staleOnError: '5m', waitTimeout: '2s' });
    await expectLead(await http.begin(get('/a'), route, undefined)).complete(ok('old'));
    await jest.advanceTimersByTimeAsync(61_000);
    expectLead(await http.begin(get('/a'), route, undefined)); // hangs
    let follower: Lookup | undefined;
    void http.begin(get('/a'), route, undefined).then((lookup) => (follower = lookup));
    await jest.advanceTimersByTimeAsync(1_999);
    expect(follower).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(follower?.action === 'serve' && [follower.status, follower.response.body.toString()]).toEqual(['STALE', 'old']);

    const patient = new ResponseCache(cache, { scope: 'patient', waitTimeout: null });
    const slow = expectLead(await patient.begin(get('/b'), route, undefined));
    let waiting: Lookup | undefined;
    void patient.begin(get('/b'), route, undefined).then((lookup) => (waiting = lookup));
    await jest.advanceTimersByTimeAsync(600_000);
    expect(waiting).toBeUndefined();
    await slow.complete(ok('slow'));
    await jest.advanceTimersByTimeAsync(0);
    expect(waiting?.action === 'serve' && waiting.response.body.toString()).toBe('slow');
  });

  it('revalidates on a request’s Cache-Control: no-cache only when honorNoCache is set', async () => {
    const strict = new ResponseCache(cache);
    await expectLead(await strict.begin(get('/a'), route, undefined)).complete(ok('v1'));
    expect(expectServe(await strict.begin(get('/a', { 'cache-control': 'no-cache' }), route, undefined)).body.toString()).toBe('v1');

    const honoring = new ResponseCache(cache, { scope: 'honoring', honorNoCache: true });
    await expectLead(await honoring.begin(get('/a'), route, undefined)).complete(ok('v1'));
    for (const headers of [{ 'cache-control': 'no-cache' }, { 'cache-control': 'max-age=0' }, { pragma: 'no-cache' }]) {
      const lead = expectLead(await honoring.begin(get('/a', headers), route, undefined));
      await lead.complete(ok(`after ${JSON.stringify(headers)}`));
    }
    expect(expectServe(await honoring.begin(get('/a'), route, undefined)).body.toString()).toBe('after {"pragma":"no-cache"}');
  });

  it('names its header as told, or sends none', async () => {
    const named = new ResponseCache(cache, { header: 'X-Toolkit-Cache' });
    const sent = await expectLead(await named.begin(get('/a'), route, undefined)).complete(ok('x'));
    expect(sent.headers['x-toolkit-cache']).toBe('MISS');
    expect(sent.headers['x-cache']).toBeUndefined();
    const silent = new ResponseCache(cache, { scope: 'silent', header: false });
    const quiet = await expectLead(await silent.begin(get('/a'), route, undefined)).complete(ok('x'));
    expect(Object.keys(quiet.headers).filter((h) => h.includes('cache'))).toEqual(['cache-control']);
    expect(() => new ResponseCache(cache, { header: 'bad header' })).toThrow(TypeError);
  });

  it('stores tags filled from params and query, and drops them on invalidate', async () => {
    const http = new ResponseCache<{ user: string }>(cache);
    const tagged: RouteCacheOptions<{ user: string }> = { tags: ['item:{id}', 'list:{page}'] };
    const request = get('/items/7?page=2', {}, { id: 7 });
    expect(http.tagsFor(tagged.tags, request, { user: 'ada' })).toEqual(['item:7', 'list:2']);
    expect(http.tagsFor((req) => [`user:${req.user}`], request, { user: 'ada' })).toEqual(['user:ada']);
    expect(() => http.tagsFor(['x:{missing}'], request, { user: 'ada' })).toThrow('no param or query value for `missing`');

    await expectLead(await http.begin(request, tagged, { user: 'ada' })).complete(ok('seven'));
    expectServe(await http.begin(request, tagged, { user: 'ada' }));
    expect(await http.invalidate(['item:{id}'], { method: 'POST', url: '/items/7', headers: {}, params: { id: '7' } }, { user: 'ada' })).toEqual(['item:7']);
    expectLead(await http.begin(request, tagged, { user: 'ada' }));
  });

  it('keeps the announced length of a HEAD response without a body, and sends no ETag it cannot compute', async () => {
    const http = new ResponseCache(cache);
    const head: HttpRequest = { method: 'HEAD', url: '/a', headers: {} };
    const miss = await expectLead(await http.begin(head, route, undefined)).complete(ok('', { 'content-length': 42 }));
    expect([miss.headers['content-length'], miss.headers.etag]).toEqual(['42', undefined]);
    const hit = expectServe(await http.begin(head, route, undefined));
    expect([hit.headers['content-length'], hit.headers.etag, hit.headers['x-cache']]).toEqual(['42', undefined, 'HIT']);
  });

  it('shares its scope with another ResponseCache on the same cache', async () => {
    const one = new ResponseCache(cache);
    const two = new ResponseCache(cache);
    expect(two.scope).toBe(one.scope);
    await expectLead(await one.begin(get('/a'), route, undefined)).complete(ok('shared'));
    expect(expectServe(await two.begin(get('/a'), route, undefined)).body.toString()).toBe('shared');
  });

  it('refuses bad options, naming them', () => {
    const http = new ResponseCache(cache);
    expect(() => http.check({ ttl: 0 })).toThrow('`ttl` of a cached route must be finite and positive');
    expect(() => http.check({ maxBodyBytes: -1 })).toThrow('`maxBodyBytes`');
    expect(() => http.check({ statuses: [1000] })).toThrow('`statuses`');
    expect(() => new ResponseCache(cache, { scope: 'other', ttl: 'soon' })).toThrow(/ttl/);
    expect(() => new ResponseCache(cache, { scope: 'other', waitTimeout: 0 })).toThrow(
      new RangeError('`waitTimeout` must be positive, or null to wait as long as the leader takes'),
    );
  });

  it('refuses an unknown option name with the closest valid one, before anything is stored', () => {
    expect(() => new ResponseCache(cache, { scope: 'other', tll: '1m' } as never)).toThrow(
      new TypeError('unknown ResponseCache option `tll`: did you mean `ttl`?'),
    );
    expect(cache.scopeNames).not.toContain('other');
    const http = new ResponseCache(cache);
    expect(() => http.check({ tags: ['a'], maxBodyByte: 10 } as never)).toThrow(
      new TypeError('unknown route cache option `maxBodyByte`: did you mean `maxBodyBytes`?'),
    );
    expect(() => http.check({ vary: { header: ['accept'] } } as never)).toThrow(
      new TypeError('unknown route cache option `vary.header`: did you mean `vary.headers`?'),
    );
  });
});
