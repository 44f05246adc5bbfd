import { checkOptionKeys, uncached } from '@toolkit/cache';
import type { Cache, CacheScope, Clock, Uncached } from '@toolkit/cache';
import { formatCacheControl, parseCacheControl } from './cacheControl';
import { computeEtag, ifNoneMatch } from './etag';
import { headerValue, storableHeaders } from './headers';
import type { HeaderBag, RequestHeaders, StoredHeaders } from './headers';
import { RESPONSE_CACHE_OPTIONS, resolvePolicy } from './ResponseCacheOptions';
import type { ResolvedPolicy, ResponseCacheOptions, RouteCacheOptions } from './ResponseCacheOptions';

/** What the cache needs to know of a request, whatever the framework. */
export interface HttpRequest {
  /** `GET`, `HEAD`, … (any case). */
  method: string;
  /** The path and query string as received: `/items/1?lang=fr`. */
  url: string;
  /** Lowercase names, as Node parses them. */
  headers: RequestHeaders;
  /** The route's params, for `{name}` placeholders in tags. @default {} */
  params?: Record<string, unknown>;
}

/** A response as the handler produced it, captured by the integration just before it is sent. */
export interface CapturedResponse {
  status: number;
  headers: HeaderBag;
  body: Buffer;
}

/** A response to send: exactly this status, these headers (replacing any set before) and this body. */
export interface HttpResponse {
  status: number;
  /** Lowercase names; `content-length` left to the framework. */
  headers: StoredHeaders;
  /** Empty for a 304. */
  body: Buffer;
}

/** `HIT`: fresh from the cache; `MISS`: the handler ran; `STALE`: from the cache past its freshness, because the handler failed. */
export type CacheStatus = 'HIT' | 'MISS' | 'STALE';

/** A response as stored: plain JSON, so that a Redis L2 keeps it as it is. */
export interface StoredResponse {
  status: number;
  headers: StoredHeaders;
  /** base64 */
  body: string;
  /** `undefined` for a HEAD response without a body or an ETag of its own (nothing to hash). */
  etag: string | undefined;
  /** When it was stored (ms since the epoch): `Age` counts from here. */
  storedAt: number;
  /** Its freshness when stored. */
  ttlMs: number;
}

/** What the integration does with a request: see {@link ResponseCache.begin}. */
export type Lookup =
  /** Not cacheable here (method, `Authorization`, …): run the handler, touch nothing. */
  | { readonly action: 'pass' }
  /** Send this response; the handler does not run. */
  | { readonly action: 'serve'; readonly response: HttpResponse; readonly status: CacheStatus }
  /** Run the handler, then hand its response to `lead`: other identical requests are waiting for it. */
  | { readonly action: 'lead'; readonly lead: Lead };

/**
 * The request whose handler runs for a key. Exactly one of `complete`, `fail` or `abandon` must be
 * called (later calls are ignored): until then, identical requests wait.
 */
export interface Lead {
  /** The handler answered: resolves to what to send instead (with the cache headers, or a 304). */
  complete(response: CapturedResponse): Promise<HttpResponse>;
  /**
   * The handler threw or answered 5xx: resolves to a stale response to send instead (`X-Cache: STALE`)
   * when one is inside its `staleOnError` window, else `undefined` (send the error as it is).
   */
  fail(error: unknown): Promise<HttpResponse | undefined>;
  /** The response cannot be captured (a stream, headers already sent, the client left): store nothing. */
  abandon(): void;
}

/**
 * Marks a handler's answer that must not be shared with the requests that waited for it.
 * @inline
 */
interface Unshared {
  readonly unshared: true;
}

/** @inline */
type Stored = StoredResponse | Unshared;

/** Headers of a 200 that a 304 repeats (RFC 9110 §15.4.5), besides ours. */
const NOT_MODIFIED_HEADERS = ['cache-control', 'content-location', 'etag', 'expires', 'vary', 'last-modified'];

/**
 * HTTP response caching on a {@link Cache}, with the semantics every Toolkit framework integration
 * shares: which requests and responses are cacheable, the key, `Age`, `Cache-Control: max-age`,
 * `ETag` / `If-None-Match`, `X-Cache`, stale answers on error, and one handler run for concurrent
 * identical requests (the cache's single-flight). Framework-free: an integration turns its request into
 * an {@link HttpRequest}, calls {@link begin}, and sends what it is told.
 *
 * @typeParam Req the framework's request, handed to function-valued `tags`
 * @example
 * const responses = new ResponseCache(cache, { ttl: '30s' });
 * const lookup = await responses.begin({ method: 'GET', url: '/items/1', headers: {} }, { tags: ['item:1'] });
 * if (lookup.action === 'lead') {
 *   const answer = await lookup.lead.complete({ status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('one') });
 *   answer.headers['x-cache']; // 'MISS'
 * }
 */
export class ResponseCache<Req = unknown> {
  /** The cache responses are stored in. */
  readonly cache: Cache;
  /** The scope of {@link cache} that holds them. */
  readonly scope: CacheScope<Stored>;
  /** The lowercase name of the `X-Cache` header, or `undefined` for none. */
  readonly header: string | undefined;
  readonly #options: ResponseCacheOptions;
  readonly #clock: Clock;
  readonly #policies = new WeakMap<RouteCacheOptions<Req>, ResolvedPolicy>();

  constructor(cache: Cache, options: ResponseCacheOptions = {}) {
    checkOptionKeys(options, RESPONSE_CACHE_OPTIONS, 'ResponseCache');
    const { header = 'x-cache' } = options;
    if (header !== false && (typeof header !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(header))) {
      throw new TypeError('`header` must be a header name or false');
    }
    this.cache = cache;
    this.header = header === false ? undefined : header.toLowerCase();
    this.#options = options;
    this.#clock = options.clock ?? { now: () => Date.now() };
    const scope = options.scope ?? 'http';
    // Two integrations on one cache (two apps, or an app and its tests) share the scope: the first sizes it.
    this.scope = cache.scopeNames.includes(scope)
      ? cache.scope<Stored>(scope)
      : cache.scope<Stored>(scope, { maxSize: options.maxEntries ?? 1000, jitter: 0 });
    resolvePolicy(options, {}); // fail fast on bad defaults
  }

  /**
   * Checks a route's options (throws `TypeError`/`RangeError` naming the option). Integrations call it
   * when a route is registered, so that a mistake fails at start-up.
   */
  check(route: RouteCacheOptions<Req>): void {
    this.#policy(route);
  }

  /** The largest body a route stores (`maxBodyBytes`): an integration may stop buffering past it. */
  bodyLimit(route: RouteCacheOptions<Req>): number {
    return this.#policy(route).maxBodyBytes;
  }

  /** The key a request is stored under: method, path, query (all of it, or the `vary.query` keys) and the `vary.headers` values. */
  keyFor(request: HttpRequest, route: RouteCacheOptions<Req>): string {
    const policy = this.#policy(route);
    const question = request.url.indexOf('?');
    const path = question === -1 ? request.url : request.url.slice(0, question);
    const params = new URLSearchParams(question === -1 ? '' : request.url.slice(question + 1));
    const names = policy.varyQuery ?? [...new Set(params.keys())].sort();
    const query = names.flatMap((name) => params.getAll(name).map((value) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`));
    const headers = policy.varyHeaders.map((name) => `${name}=${encodeURIComponent(headerValue(request.headers, name) ?? '')}`);
    return `${request.method.toUpperCase()} ${path}?${query.join('&')}${headers.length === 0 ? '' : `#${headers.join('&')}`}`;
  }

  /** The tags of a route for a request, placeholders filled from params, then query. */
  tagsFor(spec: RouteCacheOptions<Req>['tags'], request: HttpRequest, source: Req): string[] {
    if (spec === undefined) return [];
    const tags = typeof spec === 'function' ? spec(source) : spec;
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) throw new TypeError('`tags` must be strings');
    const question = request.url.indexOf('?');
    const query = new URLSearchParams(question === -1 ? '' : request.url.slice(question + 1));
    return tags.map((tag) =>
      tag.replace(/\{([^{}]+)\}/g, (_: string, name: string) => {
        const value = request.params?.[name] ?? query.get(name);
        if (value === undefined || value === null) throw new TypeError(`tag \`${tag}\`: no param or query value for \`${name}\``);
        return String(value);
      }),
    );
  }

  /**
   * Decides what to do with a request of a cached route: pass it through, serve a stored response, or
   * let the handler run as the leader of its key. Concurrent identical requests wait for the leader and
   * are served its response (unless it is not storable: then each runs its own handler).
   */
  async begin(request: HttpRequest, route: RouteCacheOptions<Req>, source: Req): Promise<Lookup> {
    const policy = this.#policy(route);
    if (!policy.methods.has(request.method.toUpperCase())) return PASS;
    // A shared cache does not answer an authenticated request from another's response (RFC 9111 §3.5),
    // unless the route varies on the credentials.
    if (headerValue(request.headers, 'authorization') !== undefined && !policy.varyHeaders.includes('authorization')) return PASS;
    const key = this.keyFor(request, route);
    const tags = this.tagsFor(route.tags, request, source);
    const inm = headerValue(request.headers, 'if-none-match');

    if (policy.honorNoCache && wantsRevalidation(request.headers)) {
      // Revalidate: the handler runs, and its response replaces the stored one (no single-flight to join).
      return { action: 'lead', lead: this.#lead(policy, request, inm, (stored) => this.scope.set(key, stored, { ttl: policy.ttlMs, tags, jitter: 0 }), undefined) };
    }

    let settle!: (outcome: { kind: 'lead' } | { kind: 'value'; value: Stored } | { kind: 'error' }) => void;
    const decided = new Promise<Parameters<typeof settle>[0]>((resolve) => (settle = resolve));
    let produce!: (value: Stored | Uncached<Stored>) => void;
    let reject!: (error: unknown) => void;
    const produced = new Promise<Stored | Uncached<Stored>>((resolve, fail) => ((produce = resolve), (reject = fail)));
    const answer = this.scope.getOrSet(
      key,
      () => {
        settle({ kind: 'lead' });
        return produced;
      },
      { ttl: policy.ttlMs, failSafe: policy.staleOnErrorMs, tags, jitter: 0, cacheNullish: false, hardTimeout: policy.waitTimeoutMs },
    );
    answer.then(
      (value) => settle({ kind: 'value', value }),
      () => settle({ kind: 'error' }),
    );
    const outcome = await decided;
    if (outcome.kind === 'lead') {
      return {
        action: 'lead',
        lead: this.#lead(policy, request, inm, (stored) => produce(stored), {
          unshared: () => produce(uncached(UNSHARED)),
          fail: async (error) => {
            reject(error);
            try {
              const value = await answer;
              return 'unshared' in value ? undefined : value;
            } catch {
              return undefined;
            }
          },
        }),
      };
    }
    // The leader failed without a stale answer, or its response was not for sharing: run our own handler.
    if (outcome.kind === 'error' || 'unshared' in outcome.value) return PASS;
    const stored = outcome.value;
    const status: CacheStatus = this.#clock.now() >= stored.storedAt + stored.ttlMs ? 'STALE' : 'HIT';
    return { action: 'serve', response: this.#render(stored, status, inm), status };
  }

  /**
   * Drops the stored responses carrying the tags (placeholders filled as for `tags`), in every process
   * sharing the cache. Integrations call it for a write route's `invalidate` once it answered 2xx.
   */
  async invalidate(spec: RouteCacheOptions<Req>['tags'], request: HttpRequest, source: Req): Promise<string[]> {
    const tags = this.tagsFor(spec, request, source);
    if (tags.length > 0) await this.cache.invalidateTags(tags);
    return tags;
  }

  #policy(route: RouteCacheOptions<Req>): ResolvedPolicy {
    let policy = this.#policies.get(route);
    if (policy === undefined) {
      policy = resolvePolicy(this.#options, route as RouteCacheOptions<never>);
      this.#policies.set(route, policy);
    }
    return policy;
  }

  #lead(
    policy: ResolvedPolicy,
    request: HttpRequest,
    inm: string | undefined,
    store: (stored: StoredResponse) => unknown,
    flight: { unshared(): void; fail(error: unknown): Promise<StoredResponse | undefined> } | undefined,
  ): Lead {
    let done = false;
    const once = () => !done && (done = true);
    return {
      complete: async (response) => {
        if (!once()) return { status: response.status, headers: storableHeaders(response.headers), body: response.body };
        const headers = storableHeaders(response.headers);
        if (!this.#storable(policy, response, headers)) {
          flight?.unshared();
          if (this.header !== undefined) headers[this.header] = 'MISS';
          return { status: response.status, headers, body: response.body };
        }
        // Downstream caches (a CDN, a browser) must know the varied headers select the response too.
        if (policy.varyHeaders.length > 0) headers.vary = mergeVary(headerValue(headers, 'vary'), policy.varyHeaders);
        // A HEAD response has no body to hash or measure: it keeps the length its framework announced.
        const bodiless = request.method.toUpperCase() === 'HEAD' && response.body.length === 0;
        const kept = storableHeaders(headers, ['etag', 'x-cache', this.header ?? 'x-cache']);
        const length = headerValue(response.headers, 'content-length');
        if (bodiless && length !== undefined) kept['content-length'] = length;
        const stored: StoredResponse = {
          status: response.status,
          headers: kept,
          body: response.body.toString('base64'),
          etag: typeof headers.etag === 'string' ? headers.etag : bodiless ? undefined : computeEtag(response.body),
          storedAt: this.#clock.now(),
          ttlMs: policy.ttlMs,
        };
        await store(stored);
        return this.#render(stored, 'MISS', inm, response.body, stored.storedAt); // fresh from the handler: Age 0, full max-age
      },
      fail: async (error) => {
        if (!once()) return undefined;
        const stale = await flight?.fail(error);
        return stale === undefined ? undefined : this.#render(stale, 'STALE', inm);
      },
      abandon: () => {
        if (once()) flight?.unshared();
      },
    };
  }

  #storable(policy: ResolvedPolicy, response: CapturedResponse, headers: StoredHeaders): boolean {
    if (!policy.statuses(response.status)) return false;
    if (response.body.length > policy.maxBodyBytes) return false;
    if (headers['set-cookie'] !== undefined) return false;
    if (headerValue(headers, 'vary')?.trim() === '*') return false;
    const directives = parseCacheControl(headerValue(headers, 'cache-control'));
    return !directives.has('no-store') && !directives.has('private') && !directives.has('no-cache');
  }

  #render(stored: StoredResponse, status: CacheStatus, inm: string | undefined, body?: Buffer, now = this.#clock.now()): HttpResponse {
    const ageMs = Math.max(0, now - stored.storedAt);
    const remaining = Math.max(0, Math.floor((stored.ttlMs - ageMs) / 1000));
    const directives = parseCacheControl(headerValue(stored.headers, 'cache-control'));
    directives.delete('max-age');
    directives.delete('s-maxage');
    directives.set('max-age', String(status === 'STALE' ? 0 : remaining));
    const headers: StoredHeaders = {
      ...stored.headers,
      'cache-control': formatCacheControl(directives),
      age: String(Math.floor(ageMs / 1000)),
    };
    if (stored.etag !== undefined) headers.etag = stored.etag;
    if (this.header !== undefined) headers[this.header] = status;
    if (stored.etag !== undefined && ifNoneMatch(inm, stored.etag)) {
      const kept: StoredHeaders = {};
      for (const name of [...NOT_MODIFIED_HEADERS, 'age', ...(this.header === undefined ? [] : [this.header])]) {
        const value = headers[name];
        if (value !== undefined) kept[name] = value;
      }
      return { status: 304, headers: kept, body: Buffer.alloc(0) };
    }
    return { status: stored.status, headers, body: body ?? Buffer.from(stored.body, 'base64') };
  }
}

const PASS: Lookup = { action: 'pass' };

/** The response's `Vary` plus the route's varied headers, each once. */
function mergeVary(existing: string | undefined, names: readonly string[]): string {
  const listed = (existing ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  const seen = new Set(listed.map((name) => name.toLowerCase()));
  return [...listed, ...names.filter((name) => !seen.has(name))].join(', ');
}
const UNSHARED: Unshared = { unshared: true };

/** `Cache-Control: no-cache` or `max-age=0` on the request, or `Pragma: no-cache` without `Cache-Control`. */
function wantsRevalidation(headers: RequestHeaders): boolean {
  const cc = headerValue(headers, 'cache-control');
  if (cc === undefined) return /(^|,)\s*no-cache\s*(,|$)/i.test(headerValue(headers, 'pragma') ?? '');
  const directives = parseCacheControl(cc);
  return directives.has('no-cache') || directives.get('max-age') === '0';
}

/**
 * Removes the conditional headers from a leader's request, so that its handler answers in full (a
 * framework's own ETag check would otherwise answer 304, which is not storable): the 304 is then decided
 * from the stored response.
 */
export function stripConditionals(headers: RequestHeaders): void {
  delete headers['if-none-match'];
  delete headers['if-modified-since'];
}
