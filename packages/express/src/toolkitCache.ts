import type { Server } from 'node:http';
import type { Cache } from '@toolkit/cache';
import { ResponseCache, captureResponse, errorResponse, openCache, sendResponse, stripConditionals } from '@toolkit/http-cache';
import type { HttpRequest, RouteCacheOptions } from '@toolkit/http-cache';
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
        if (lookup.action === 'serve') return sendResponse(res, lookup.response, res.end.bind(res));
        stripConditionals(req.headers);
        captureResponse(res, lookup.lead, {
          limit: responses.bodyLimit(route),
          header: responses.header,
          failure: () => failures.get(res),
          owner: '@toolkit/express',
          warningCode: 'TOOLKIT_EXPRESS_CACHE',
        });
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
        sendResponse(res, mapped, res.end.bind(res));
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
