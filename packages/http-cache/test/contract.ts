// The HTTP caching contract every framework integration runs over real HTTP (bentocache-style: one suite,
// every adapter). An adapter gives `start`, which serves the routes of `contractRoutes` with its framework on
// 127.0.0.1 port 0; the suite makes real requests with fetch and asserts exact statuses, headers and bodies.
import { Cache } from '@toolkit/cache';
import type { Clock } from '@toolkit/cache';
import { ResilienceRegistry, attemptSignal } from '@toolkit/core';
import type { ErrorResponseOptions, ResponseCacheOptions, RouteCacheOptions } from '../src';

/** What a route handler answers: the adapter sends exactly this. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A framework-free request, as the adapter hands it to a contract handler. */
export interface ContractRequest {
  params: Record<string, string>;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
}

/** One route: the adapter registers `handler` on `method path` with `cache` / `invalidate` as its framework's config. */
export interface ContractRoute {
  method: 'GET' | 'POST';
  path: string;
  cache?: RouteCacheOptions;
  invalidate?: readonly string[];
  handler(request: ContractRequest): Promise<Answer>;
}

/** What `start` gets: the cache to use, the integration's options, the routes. */
export interface ContractFixture {
  cache: Cache;
  options: ResponseCacheOptions & { errors: ErrorResponseOptions };
  routes: ContractRoute[];
}

export interface ContractServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

class ManualClock implements Clock {
  #now = Date.parse('2026-01-01T00:00:00Z');
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

function defer<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const text = (body: string, headers: Record<string, string> = {}, status = 200): Answer => ({
  status,
  headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
  body,
});

/** Runs the contract against one adapter. */
export function describeHttpCacheContract(framework: string, start: (fixture: ContractFixture) => Promise<ContractServer>): void {
  describe(`HTTP caching contract: ${framework} over real HTTP`, () => {
    let clock: ManualClock;
    let cache: Cache;
    let server: ContractServer;
    let runs: Map<string, number>;
    let gate: ReturnType<typeof defer>;
    let failing: boolean;

    const run = (name: string) => {
      const n = (runs.get(name) ?? 0) + 1;
      runs.set(name, n);
      return n;
    };

    beforeEach(async () => {
      clock = new ManualClock();
      cache = new Cache({ clock });
      runs = new Map();
      gate = defer();
      failing = false;
      const registry = new ResilienceRegistry({ cache });
      // A breaker opened by a failure, as in production: calls are rejected until it half-opens.
      const guarded = registry.resilient({ circuitBreaker: { failureThreshold: 1, halfOpenAfter: '30s' } })(async (): Promise<string> => {
        throw new Error('inventory down');
      });
      await expect(guarded()).rejects.toThrow('inventory down');
      const slow = registry.resilient({ timeout: { after: 20 } })(() => {
        const signal = attemptSignal();
        return new Promise<string>((resolve, reject) => {
          const timer = setTimeout(resolve, 5000, 'late');
          signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)));
        });
      });
      const routes: ContractRoute[] = [
        {
          method: 'GET',
          path: '/items/:id',
          cache: { ttl: '60s', tags: ['item:{id}'], vary: { headers: ['accept-language'], query: ['lang'] } },
          handler: async ({ params, query, headers }) =>
            text(`item ${params.id} lang=${String(query.lang ?? '-')} al=${String(headers['accept-language'] ?? '-')} run=${run(`item ${params.id}`)}`),
        },
        { method: 'POST', path: '/items/:id', invalidate: ['item:{id}'], handler: async ({ params }) => text(`saved ${params.id} run=${run('save')}`) },
        { method: 'GET', path: '/cookie', cache: {}, handler: async () => text(`cookie run=${run('cookie')}`, { 'set-cookie': 'sid=1; HttpOnly' }) },
        { method: 'GET', path: '/nostore', cache: {}, handler: async () => text(`nostore run=${run('nostore')}`, { 'cache-control': 'no-store' }) },
        { method: 'GET', path: '/private', cache: {}, handler: async () => text(`private run=${run('private')}`, { 'cache-control': 'private, max-age=60' }) },
        { method: 'GET', path: '/missing', cache: {}, handler: async () => text(`missing run=${run('missing')}`, {}, 404) },
        { method: 'GET', path: '/big', cache: {}, handler: async () => text(`big run=${run('big')} ${'x'.repeat(100)}`) },
        {
          method: 'GET',
          path: '/slow',
          cache: {},
          handler: async () => {
            const n = run('slow');
            await gate.promise;
            return text(`slow run=${n}`);
          },
        },
        {
          method: 'GET',
          path: '/flaky',
          cache: { ttl: '10s' },
          handler: async () => {
            const n = run('flaky');
            if (failing) throw new Error('database down');
            return text(`flaky run=${n}`);
          },
        },
        { method: 'GET', path: '/fresh', cache: { honorNoCache: true }, handler: async () => text(`fresh run=${run('fresh')}`) },
        { method: 'GET', path: '/open', handler: async () => text(await guarded()) },
        { method: 'GET', path: '/timeout', handler: async () => text(await slow()) },
      ];
      server = await start({
        cache,
        options: { clock, maxBodyBytes: 64, staleOnError: '5m', errors: { circuitRetryAfter: '10s' } },
        routes,
      });
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    });

    afterEach(async () => {
      gate.resolve(undefined);
      await server.close();
      await cache.close({ timeout: 100 });
    });

    const fetchText = async (path: string, init?: RequestInit) => {
      // fetch sends `accept-language: *` unless told: say something a test can read back.
      const headers = new Headers(init?.headers);
      if (!headers.has('accept-language')) headers.set('accept-language', 'en');
      const response = await fetch(`${server.url}${path}`, { ...init, headers });
      return { status: response.status, headers: response.headers, body: await response.text() };
    };

    it('answers a miss from the handler, then hits with Age and max-age counting down', async () => {
      const miss = await fetchText('/items/1');
      expect([miss.status, miss.body]).toEqual([200, 'item 1 lang=- al=en run=1']);
      expect(miss.headers.get('x-cache')).toBe('MISS');
      expect(miss.headers.get('age')).toBe('0');
      expect(miss.headers.get('cache-control')).toBe('max-age=60');
      expect(miss.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(miss.headers.get('etag')).toMatch(/^(W\/)?"[^"]+"$/);

      clock.advance(10_400);
      const hit = await fetchText('/items/1');
      expect([hit.status, hit.body]).toEqual([200, 'item 1 lang=- al=en run=1']);
      expect(hit.headers.get('x-cache')).toBe('HIT');
      expect(hit.headers.get('age')).toBe('10');
      expect(hit.headers.get('cache-control')).toBe('max-age=49');
      expect(hit.headers.get('etag')).toBe(miss.headers.get('etag'));
      expect([miss.headers.get('vary'), hit.headers.get('vary')]).toEqual(['accept-language', 'accept-language']);
      expect(hit.headers.get('content-length')).toBe(String(Buffer.byteLength(hit.body)));

      clock.advance(50_000);
      expect((await fetchText('/items/1')).body).toBe('item 1 lang=- al=en run=2'); // expired
    });

    it('answers 304 to a matching If-None-Match, without running the handler', async () => {
      const etag = (await fetchText('/items/1')).headers.get('etag') as string;
      const notModified = await fetchText('/items/1', { headers: { 'if-none-match': etag } });
      expect([notModified.status, notModified.body]).toEqual([304, '']);
      expect(notModified.headers.get('etag')).toBe(etag);
      expect(notModified.headers.get('x-cache')).toBe('HIT');
      expect(notModified.headers.get('cache-control')).toBe('max-age=60');
      expect((await fetchText('/items/1', { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
      expect(runs.get('item 1')).toBe(1);
      // A cold key asked conditionally: the handler runs, and the 304 is decided from its response.
      expect((await fetchText('/items/2', { headers: { 'if-none-match': '*' } })).status).toBe(304);
    });

    it('keys by the varied query keys and headers, ignoring other query keys', async () => {
      expect((await fetchText('/items/1?lang=fr&utm=a')).body).toBe('item 1 lang=fr al=en run=1');
      expect((await fetchText('/items/1?utm=b&lang=fr')).headers.get('x-cache')).toBe('HIT');
      expect((await fetchText('/items/1?lang=en')).body).toBe('item 1 lang=en al=en run=2');
      expect((await fetchText('/items/1?lang=fr', { headers: { 'accept-language': 'de' } })).body).toBe('item 1 lang=fr al=de run=3');
      expect((await fetchText('/items/1?lang=fr', { headers: { 'accept-language': 'de' } })).body).toBe('item 1 lang=fr al=de run=3');
    });

    it.each([
      ['Set-Cookie', '/cookie', 200],
      ['Cache-Control: no-store', '/nostore', 200],
      ['Cache-Control: private', '/private', 200],
      ['a 404', '/missing', 404],
      ['a body over maxBodyBytes', '/big', 200],
    ])('never stores a response with %s', async (_, path, status) => {
      const first = await fetchText(path);
      const second = await fetchText(path);
      expect([first.status, second.status]).toEqual([status, status]);
      expect(first.body).toMatch(/ run=1\b/);
      expect(second.body).toMatch(/ run=2\b/);
      expect(second.headers.get('x-cache')).toBe('MISS');
      expect(second.headers.get('age')).toBeNull();
    });

    it('sends a leader its own Set-Cookie', async () => {
      expect((await fetchText('/cookie')).headers.get('set-cookie')).toBe('sid=1; HttpOnly');
    });

    it('drops the tagged responses when a write route answers 2xx', async () => {
      await fetchText('/items/1');
      await fetchText('/items/2');
      const saved = await fetchText('/items/1', { method: 'POST' });
      expect([saved.status, saved.body, saved.headers.get('x-cache')]).toEqual([200, 'saved 1 run=1', null]);
      expect((await fetchText('/items/1')).body).toBe('item 1 lang=- al=en run=2');
      expect((await fetchText('/items/2')).headers.get('x-cache')).toBe('HIT');
      await fetchText('/items/1', { method: 'POST' });
      expect(runs.get('save')).toBe(2); // a POST is never cached
    });

    it('runs the handler once for concurrent identical requests', async () => {
      const answers = Promise.all(Array.from({ length: 5 }, () => fetchText('/slow')));
      // Every request has reached the cache (one leads, four wait for it) before the handler answers.
      while (cache.stats().misses < 5) await new Promise((resolve) => setTimeout(resolve, 5));
      gate.resolve(undefined);
      const all = await answers;
      expect(all.map((a) => [a.status, a.body])).toEqual(Array.from({ length: 5 }, () => [200, 'slow run=1']));
      expect(all.map((a) => a.headers.get('x-cache')).sort()).toEqual(['HIT', 'HIT', 'HIT', 'HIT', 'MISS']);
      expect(runs.get('slow')).toBe(1);
    });

    it('lets the waiting requests run their own handler when the leader’s client goes away', async () => {
      const leaving = new AbortController();
      const leader = fetch(`${server.url}/slow`, { signal: leaving.signal }).catch((error: unknown) => error);
      while (runs.get('slow') !== 1) await new Promise((resolve) => setTimeout(resolve, 5));
      const follower = fetchText('/slow');
      while (cache.stats().misses < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      leaving.abort();
      expect(await leader).toMatchObject({ name: 'AbortError' });
      while (runs.get('slow') !== 2) await new Promise((resolve) => setTimeout(resolve, 5)); // the follower's own run
      gate.resolve(undefined);
      const answer = await follower;
      expect([answer.status, answer.body]).toEqual([200, 'slow run=2']);
    });

    it('revalidates on a request’s Cache-Control: no-cache only where honorNoCache is set', async () => {
      await fetchText('/items/1');
      const ignored = await fetchText('/items/1', { headers: { 'cache-control': 'no-cache' } });
      expect([ignored.body, ignored.headers.get('x-cache')]).toEqual(['item 1 lang=- al=en run=1', 'HIT']);
      expect((await fetchText('/fresh')).body).toBe('fresh run=1');
      expect((await fetchText('/fresh')).headers.get('x-cache')).toBe('HIT');
      const revalidated = await fetchText('/fresh', { headers: { 'cache-control': 'no-cache' } });
      expect([revalidated.body, revalidated.headers.get('x-cache')]).toEqual(['fresh run=2', 'MISS']);
      expect((await fetchText('/fresh')).body).toBe('fresh run=2'); // the fresh response replaced the stored one
    });

    it('serves a stale response when the handler fails within staleOnError, and says so', async () => {
      expect((await fetchText('/flaky')).body).toBe('flaky run=1');
      clock.advance(11_000);
      failing = true;
      const stale = await fetchText('/flaky');
      expect([stale.status, stale.body]).toEqual([200, 'flaky run=1']);
      expect(stale.headers.get('x-cache')).toBe('STALE');
      expect(stale.headers.get('cache-control')).toBe('max-age=0');
      expect(stale.headers.get('age')).toBe('11');
      expect(runs.get('flaky')).toBe(2);
    });

    it('answers 500 when the handler fails with nothing stale', async () => {
      failing = true;
      const failed = await fetchText('/flaky');
      expect(failed.status).toBe(500);
      expect(failed.headers.get('x-cache')).toBeNull();
    });

    it('maps an open circuit of resilient() to 503 with Retry-After, a timeout to 504', async () => {
      const open = await fetchText('/open');
      expect(open.status).toBe(503);
      // When the breaker half-opens (its halfOpenAfter, 30 s), not the configured fallback (10 s).
      expect(open.headers.get('retry-after')).toBe('30');
      expect(open.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(JSON.parse(open.body)).toMatchObject({ error: 'Service Unavailable', code: 'E_CIRCUIT_OPEN' });
      const timeout = await fetchText('/timeout');
      expect(timeout.status).toBe(504);
      expect(timeout.headers.get('retry-after')).toBeNull();
      expect(JSON.parse(timeout.body)).toMatchObject({ error: 'Gateway Timeout', code: 'E_TIMEOUT' });
    });

    it('caches HEAD apart from GET, and passes authenticated requests', async () => {
      const head = await fetchText('/items/1', { method: 'HEAD' });
      expect([head.status, head.body, head.headers.get('x-cache')]).toEqual([200, '', 'MISS']);
      const length = String(Buffer.byteLength('item 1 lang=- al=en run=1'));
      expect(head.headers.get('content-length')).toBe(length); // the length of the GET's body
      const headHit = await fetchText('/items/1', { method: 'HEAD' });
      expect([headHit.status, headHit.body, headHit.headers.get('x-cache'), headHit.headers.get('content-length')]).toEqual([200, '', 'HIT', length]);
      expect((await fetchText('/items/1')).headers.get('x-cache')).toBe('MISS');
      const authed = await fetchText('/items/1', { headers: { authorization: 'Bearer t' } });
      expect([authed.body, authed.headers.get('x-cache')]).toEqual(['item 1 lang=- al=en run=3', null]);
    });
  });
}
