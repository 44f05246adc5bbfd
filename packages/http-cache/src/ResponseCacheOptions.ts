import { checkOptionKeys, toMs } from '@toolkit/cache';
import type { Clock, Duration } from '@toolkit/cache';

/**
 * How one route's responses are cached. Every field but `tags` and `vary` falls back to the
 * {@link ResponseCacheOptions} of the integration.
 *
 * @typeParam Req the framework's request (Fastify's `FastifyRequest`, Express' `Request`), handed to
 * function-valued `tags`.
 */
export interface RouteCacheOptions<Req = unknown> {
  /**
   * How long a stored response is fresh: served as a hit, with `Cache-Control: max-age` counting down.
   * A number of milliseconds or a string such as `'30s'`; must be finite and positive.
   * @default the integration's `ttl` ('1m')
   */
  ttl?: Duration;
  /**
   * Tags stored with the response, for `cache.invalidateTags()` or a write route's `invalidate`. A
   * string may hold `{name}` placeholders, filled from the route's params, then its query.
   * @default []
   * @example tags: ['product:{id}', 'products']
   */
  tags?: readonly string[] | ((request: Req) => readonly string[]);
  /**
   * The parts of a request, besides its method and path, that select a different stored response.
   * `headers` are request header names (any case); `query` are the query keys that count, the others
   * being ignored. Without `query`, the whole query string counts (in any order of its keys).
   * @default {} (method, path and the whole query string)
   * @example vary: { headers: ['accept-language'], query: ['page'] }
   */
  vary?: VaryOptions;
  /** How long after `ttl` a stored response may still answer when the handler fails. @default the integration's */
  staleOnError?: Duration;
  /** @default the integration's */
  methods?: readonly string[];
  /** @default the integration's */
  statuses?: readonly number[];
  /** @default the integration's */
  maxBodyBytes?: number;
  /** @default the integration's */
  honorNoCache?: boolean;
}

/** What selects a different stored response: see {@link RouteCacheOptions.vary}. */
export interface VaryOptions {
  /** Request header names. @default [] */
  headers?: readonly string[];
  /** Query keys; omitted: the whole query string. @default undefined */
  query?: readonly string[];
}

/** The settings of a response cache, shared by every route (each can override most of them). */
export interface ResponseCacheOptions {
  /** The cache scope responses are stored in. @default 'http' */
  scope?: string;
  /** The most responses held in memory (the scope's `maxSize`). @default 1000 */
  maxEntries?: number;
  /** Default freshness of a stored response. @default '1m' */
  ttl?: Duration;
  /**
   * How long past its freshness a stored response may answer when the handler fails (throws, or
   * answers 5xx): the answer says `X-Cache: STALE`, `Cache-Control: max-age=0`, and its `Age`.
   * The cache's `failSafe`. `0`: never.
   * @default 0
   */
  staleOnError?: Duration;
  /** The request methods whose responses are cached. @default ['GET', 'HEAD'] */
  methods?: readonly string[];
  /** The statuses that are stored. @default every 2xx but 206 */
  statuses?: readonly number[];
  /** Larger bodies are sent but not stored. @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /**
   * Honour a request's `Cache-Control: no-cache` (or `Pragma: no-cache`): run the handler and store its
   * fresh response instead of serving the stored one. Off by default, since any client could then
   * make every request reach the handler.
   * @default false
   */
  honorNoCache?: boolean;
  /**
   * How long identical requests wait for the one whose handler is running (the leader) before they run
   * their own handler (or are answered from a response inside its `staleOnError` window, `X-Cache:
   * STALE`): a handler that hangs holds its followers this long at most. The leader itself is not cut
   * short, and its response is still stored when it comes. Milliseconds or a duration string; `null`:
   * wait as long as the leader takes.
   * @default '30s'
   */
  waitTimeout?: Duration | null;
  /** The response header that says `HIT`, `MISS` or `STALE`; `false` for none. @default 'x-cache' */
  header?: string | false;
  /** Where `Age` and freshness read the time. Give the cache the same one. @default Date */
  clock?: Clock;
}

/** Every setting of one route, resolved. @internal */
export interface ResolvedPolicy {
  readonly ttlMs: number;
  readonly staleOnErrorMs: number;
  readonly methods: ReadonlySet<string>;
  readonly statuses: ((status: number) => boolean);
  readonly maxBodyBytes: number;
  readonly honorNoCache: boolean;
  readonly waitTimeoutMs: number | null;
  readonly varyHeaders: readonly string[];
  readonly varyQuery: readonly string[] | undefined;
}

/** The names of {@link RouteCacheOptions}: a `Record` over its keys, so the list cannot drift from the type. @internal */
export const ROUTE_CACHE_OPTIONS: Record<keyof RouteCacheOptions, true> = {
  ttl: true,
  tags: true,
  vary: true,
  staleOnError: true,
  methods: true,
  statuses: true,
  maxBodyBytes: true,
  honorNoCache: true,
};

/** The names of {@link VaryOptions}. @internal */
export const VARY_OPTIONS: Record<keyof VaryOptions, true> = { headers: true, query: true };

/** The names of {@link ResponseCacheOptions}. @internal */
export const RESPONSE_CACHE_OPTIONS: Record<keyof ResponseCacheOptions, true> = {
  scope: true,
  maxEntries: true,
  ttl: true,
  staleOnError: true,
  methods: true,
  statuses: true,
  maxBodyBytes: true,
  honorNoCache: true,
  waitTimeout: true,
  header: true,
  clock: true,
};

const defaultStatuses = (status: number) => status >= 200 && status < 300 && status !== 206;

/** Library defaults → integration options → route options, checked once per route. @internal */
export function resolvePolicy(base: ResponseCacheOptions, route: RouteCacheOptions<never>): ResolvedPolicy {
  checkOptionKeys(route, ROUTE_CACHE_OPTIONS, 'route cache');
  if (route.vary !== undefined) checkOptionKeys(route.vary, VARY_OPTIONS, 'route cache', 'vary.');
  const ttlMs = toMs(route.ttl ?? base.ttl ?? '1m', 'ttl');
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError('`ttl` of a cached route must be finite and positive');
  const staleOnErrorMs = toMs(route.staleOnError ?? base.staleOnError ?? 0, 'staleOnError');
  const maxBodyBytes = route.maxBodyBytes ?? base.maxBodyBytes ?? 1024 * 1024;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 0) throw new RangeError('`maxBodyBytes` must be a non-negative integer');
  const statuses = route.statuses ?? base.statuses;
  if (statuses !== undefined && !statuses.every((s) => Number.isInteger(s) && s >= 100 && s <= 599)) {
    throw new RangeError('`statuses` must list HTTP status codes');
  }
  const vary = route.vary ?? {};
  const waitTimeout = base.waitTimeout === undefined ? '30s' : base.waitTimeout;
  const waitTimeoutMs = waitTimeout === null ? null : toMs(waitTimeout, 'waitTimeout');
  if (waitTimeoutMs !== null && !(waitTimeoutMs > 0)) throw new RangeError('`waitTimeout` must be positive, or null to wait as long as the leader takes');
  return {
    ttlMs,
    staleOnErrorMs,
    methods: new Set((route.methods ?? base.methods ?? ['GET', 'HEAD']).map((m) => m.toUpperCase())),
    statuses: statuses === undefined ? defaultStatuses : (status) => statuses.includes(status),
    maxBodyBytes,
    honorNoCache: route.honorNoCache ?? base.honorNoCache ?? false,
    waitTimeoutMs: waitTimeoutMs === Infinity ? null : waitTimeoutMs,
    varyHeaders: (vary.headers ?? []).map((h) => h.toLowerCase()).sort(),
    varyQuery: vary.query === undefined ? undefined : [...vary.query].sort(),
  };
}
