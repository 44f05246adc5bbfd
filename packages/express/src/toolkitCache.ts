import type { Server } from 'node:http';
import type { Cache } from '@toolkit/cache';
import { ResponseCache, errorResponse, openCache, stripConditionals } from '@toolkit/http-cache';
import type { HttpRequest, HttpResponse, Lead, RouteCacheOptions } from '@toolkit/http-cache';
import type { ErrorRequestHandler, Express, NextFunction, Request, Response } from 'express';
import { checkToolkitCacheOptions } from './options';
import type { ToolkitCacheOptions } from './options';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The `@toolkit/cache` of the app (set by `toolkit.install(app)`). */
      cache: import('@toolkit/cache').Cache;
    }
    interface Locals {
      /** The `@toolkit/cache` of the app (on `app.locals`, set by `toolkit.install(app)`). */
      cache: import('@toolkit/cache').Cache;
    }
  }
}

/** Tags a write route drops once it answered 2xx: strings with `{param}` placeholders, or a function of the request. */
export type ExpressInvalidate = readonly string[] | ((request: Request) => readonly string[]);

/**
 * Route middleware of this package. Generic in the route's params, so that the handler after it keeps
 * the params Express infers from the path (`req.params.id: string` on `'/items/:id'`).
 */
export type ToolkitMiddleware = <P>(req: Request<P>, res: Response, next: NextFunction) => void;

/** What {@link toolkitCache} returns: the cache, its middleware and its lifecycle. */
export interface ToolkitCache {
  /** The cache. */
  readonly cache: Cache;
  /** The response cache of the cached routes (`@toolkit/http-cache`). */
  readonly responses: ResponseCache<Request>;
  /** Puts the cache on `app.locals.cache` and on every `req.cache`. Call it before your routes. */
  install(app: Express): void;
  /** Route middleware that caches the route's responses: `app.get('/x', toolkit.cached({ ttl: '30s' }), handler)`. */
  cached(route?: RouteCacheOptions<Request>): ToolkitMiddleware;
  /** Route middleware that drops `tags` once the route answered 2xx, before the response leaves. */
  invalidate(tags: ExpressInvalidate): ToolkitMiddleware;
  /** An error handler (after your routes) that answers errors of `resilient()` with 503/504; others go on to `next(err)`. */
  errors(): ErrorRequestHandler;
  /** Waits for the cache, then listens: resolves to the server, whose `close` closes the cache too. @default port 0 on 127.0.0.1 */
  listen(app: Express, port?: number, host?: string): Promise<Server>;
  /** Closes the cache with `server` (when it emits `close`). Returns `server`. */
  closeWith<S extends Server>(server: S): S;
  /** Closes the cache (if it is ours to close); the same promise on every call. */
  close(): Promise<void>;
}

/** The error a handler passed to `next(err)`, for the stale answer of its cached route. */
const failures = new WeakMap<Response, unknown>();

/**
 * The cache of an Express 5 app, with its lifecycle and its middleware.
 *
 * @example
 * const toolkit = await toolkitCache({ ttl: '30s' }); // CACHE_URL=redis://… for a Redis L2
 * const app = express();
 * toolkit.install(app); // req.cache, app.locals.cache
 * app.get('/items/:id', toolkit.cached({ tags: ['item:{id}'] }), async (req, res) => { res.json(await loadItem(req.params.id)); });
 * app.put('/items/:id', toolkit.invalidate(['item:{id}']), async (req, res) => { res.json(await saveItem(req.params.id, req.body)); });
 * app.use(toolkit.errors());
 * const server = await toolkit.listen(app, 3000); // server.close() closes the cache
 */
export async function toolkitCache(options: ToolkitCacheOptions = {}): Promise<ToolkitCache> {
  checkToolkitCacheOptions(options);
  const { cache: given, env = process.env, closeCache, errors: errorOptions = {}, ...responseOptions } = options;
  const opened = await openCache(given, env);
  const { cache } = opened;
  const responses = new ResponseCache<Request>(cache, responseOptions);
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (closeCache ?? opened.owned) ? opened.close() : Promise.resolve());

  const closeWith = <S extends Server>(server: S): S => {
    server.once('close', () => void close());
    return server;
  };

  return {
    cache,
    responses,
    install(app) {
      app.locals.cache = cache;
      app.use(function toolkitCacheAttach(req, _res, next) {
        req.cache = cache;
        next();
      });
    },
    cached(route: RouteCacheOptions<Request> = {}): ToolkitMiddleware {
      responses.check(route);
      return async function toolkitCacheLookup(req: Request, res: Response, next: NextFunction) {
        const lookup = await responses.begin(viewOf(req), route, req);
        if (lookup.action === 'pass') return next();
        if (lookup.action === 'serve') return send(res, lookup.response, res.end.bind(res));
        stripConditionals(req.headers);
        capture(res, lookup.lead, responses.bodyLimit(route), responses.header);
        next();
      } as unknown as ToolkitMiddleware;
    },
    invalidate(tags: ExpressInvalidate): ToolkitMiddleware {
      return function toolkitCacheInvalidate(req: Request, res: Response, next: NextFunction) {
        const end = res.end.bind(res) as (...args: unknown[]) => Response;
        res.end = function (this: Response, ...args: unknown[]) {
          res.end = end as Response['end'];
          if (res.statusCode < 200 || res.statusCode >= 300) return end(...args);
          responses.invalidate(tags, viewOf(req), req).then(
            () => end(...args),
            (error: unknown) => {
              // The write happened; the response says so, the failed invalidation is reported.
              process.emitWarning(`@toolkit/express: invalidating ${String(tags)} failed: ${String(error)}`, { code: 'TOOLKIT_EXPRESS_INVALIDATE' });
              end(...args);
            },
          );
          return res;
        } as Response['end'];
        next();
      } as unknown as ToolkitMiddleware;
    },
    errors() {
      return function toolkitCacheErrors(error, _req, res, next) {
        failures.set(res, error);
        const mapped = errorResponse(error, errorOptions);
        if (mapped === undefined || res.headersSent) return next(error);
        send(res, mapped, res.end.bind(res));
      };
    },
    async listen(app, port = 0, host = '127.0.0.1') {
      await cache.ready;
      const server = await new Promise<Server>((resolve, reject) => {
        const listening = app.listen(port, host, (error?: Error) => (error === undefined ? resolve(listening) : reject(error)));
      });
      return closeWith(server);
    },
    closeWith,
    close,
  };
}

function viewOf(req: Request): HttpRequest {
  return { method: req.method, url: req.originalUrl, headers: req.headers, params: req.params };
}

/** Replaces whatever the response holds with `response`, and ends it through `end`. */
function send(res: Response, response: HttpResponse, end: (body: Buffer) => unknown): void {
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  // A HEAD answer keeps the length of the body it does not carry.
  if (response.status !== 304 && response.status !== 204 && response.headers['content-length'] === undefined) {
    res.setHeader('content-length', response.body.length);
  }
  end(response.body);
}

type Chunk = string | Buffer | Uint8Array;
type Callback = (error?: Error | null) => void;

/**
 * Buffers what the handler writes (up to `limit` bytes: past it, the body is sent as it comes and not
 * stored), then hands it to the lead at `end()` and sends what the lead answers.
 */
function capture(res: Response, lead: Lead, limit: number, header: string | undefined): void {
  const write = res.write.bind(res) as (chunk: Chunk, encoding?: BufferEncoding, cb?: Callback) => boolean;
  const end = res.end.bind(res) as (chunk?: Chunk, encoding?: BufferEncoding, cb?: Callback) => Response;
  const chunks: Buffer[] = [];
  let size = 0;
  let streaming = false;
  res.once('close', () => lead.abandon()); // the client left before the end: the waiting requests run their own
  const restore = () => {
    res.write = write as Response['write'];
    res.end = end as Response['end'];
  };
  const toBuffer = (chunk: Chunk, encoding?: BufferEncoding) => (typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk));
  const args = (encoding?: BufferEncoding | Callback, cb?: Callback): [BufferEncoding | undefined, Callback | undefined] =>
    typeof encoding === 'function' ? [undefined, encoding] : [encoding, cb];

  res.write = function (chunk: Chunk, encoding?: BufferEncoding | Callback, cb?: Callback) {
    const [enc, done] = args(encoding, cb);
    const buffer = toBuffer(chunk, enc);
    chunks.push(buffer);
    size += buffer.length;
    if (size > limit || res.headersSent) {
      // Too big to store, or the handler flushed its headers: send as it comes.
      streaming = true;
      lead.abandon();
      restore();
      if (header !== undefined && !res.headersSent) res.setHeader(header, 'MISS');
      return write(Buffer.concat(chunks.splice(0)), undefined, done);
    }
    done?.();
    return true;
  } as Response['write'];

  res.end = function (chunk?: Chunk | Callback, encoding?: BufferEncoding | Callback, cb?: Callback) {
    restore();
    if (typeof chunk === 'function') return end(undefined, undefined, chunk);
    const [enc, done] = args(encoding, cb);
    if (chunk !== undefined && chunk !== null) chunks.push(toBuffer(chunk, enc));
    const body = Buffer.concat(chunks);
    if (streaming || res.headersSent) {
      lead.abandon();
      return end(body, undefined, done);
    }
    const answer =
      res.statusCode >= 500
        ? lead.fail(failures.get(res) ?? new Error(`the handler answered ${res.statusCode}`))
        : lead.complete({ status: res.statusCode, headers: res.getHeaders() as Record<string, string | number | string[]>, body });
    answer.then(
      (response) => (response === undefined ? end(body, undefined, done) : send(res, response, (b) => end(b, undefined, done))),
      () => end(body, undefined, done),
    );
    return res;
  } as Response['end'];
}
