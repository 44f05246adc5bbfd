import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ResponseCache, captureResponse, stripConditionals } from '@toolkit/http-cache';
import type { HttpRequest, Lookup, RouteCacheOptions } from '@toolkit/http-cache';
import { from, mergeMap, of, tap } from 'rxjs';
import type { Observable } from 'rxjs';
import type { InvalidateTagsSpec } from './InvalidateTags';
import { CACHE_RESPONSE, INVALIDATE_TAGS } from './metadata';
import { isNodeResponse, sendNow } from './nodeResponse';

/** A request as platform-express hands it over. */
type NestRequest = IncomingMessage & { originalUrl?: string; params?: Record<string, unknown> };

/** The requests an interceptor already handles, so that registering it twice (globally and by decorator) is harmless. */
const handled = new WeakSet<object>();

/**
 * Caches the responses of `@CacheResponse()` routes and drops the tags of `@InvalidateTags()` routes.
 * The decorators apply it; registering it globally (`APP_INTERCEPTOR`) too is harmless. Routes without
 * either decorator pass through untouched. Response caching needs a platform whose response is Node's
 * `ServerResponse` (`@nestjs/platform-express`).
 */
@Injectable()
export class ToolkitCacheInterceptor implements NestInterceptor {
  constructor(
    @Inject(ResponseCache) private readonly responses: ResponseCache<unknown>,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const targets = [context.getHandler(), context.getClass()];
    const route = this.reflector.getAllAndOverride<RouteCacheOptions<unknown> | undefined>(CACHE_RESPONSE, targets);
    const invalidate = this.reflector.getAllAndOverride<InvalidateTagsSpec<unknown> | undefined>(INVALIDATE_TAGS, targets);
    const http = context.switchToHttp();
    const req = http.getRequest<NestRequest>();
    if ((route === undefined && invalidate === undefined) || handled.has(req)) return next.handle();
    handled.add(req);
    const res = http.getResponse<unknown>();
    const view = viewOf(req);
    const handle = invalidate === undefined ? () => next.handle() : () => next.handle().pipe(mergeMap((value) => this.#invalidate(invalidate, view, req, res, value)));
    if (route === undefined) return handle();
    if (!isNodeResponse(res)) {
      throw new TypeError(
        '`@CacheResponse()` needs a platform whose response is Node\'s ServerResponse (@nestjs/platform-express); on another platform, cache in a service with `@Cached()`',
      );
    }
    return from(this.responses.begin(view, route, req)).pipe(mergeMap((lookup) => this.#answer(lookup, route, req, res, handle)));
  }

  #answer(lookup: Lookup, route: RouteCacheOptions<unknown>, req: NestRequest, res: ServerResponse, handle: () => Observable<unknown>): Observable<unknown> {
    if (lookup.action === 'pass') return handle();
    // The 304 (or not) is decided from the stored response: the platform's own ETag check must not answer.
    stripConditionals(req.headers);
    if (lookup.action === 'serve') {
      sendNow(res, lookup.response);
      return of(undefined);
    }
    let failure: unknown;
    captureResponse(res, lookup.lead, {
      limit: this.responses.bodyLimit(route),
      header: this.responses.header,
      failure: () => failure,
      owner: '@toolkit/nestjs',
      warningCode: 'TOOLKIT_NESTJS_CACHE',
    });
    return handle().pipe(tap({ error: (error: unknown) => (failure = error) }));
  }

  async #invalidate(spec: InvalidateTagsSpec<unknown>, view: HttpRequest, req: NestRequest, res: unknown, value: unknown): Promise<unknown> {
    const status = (res as { statusCode?: number }).statusCode ?? 200;
    if (status < 200 || status >= 300) return value;
    try {
      await this.responses.invalidate(spec, view, req);
    } catch (error) {
      // The write happened; the response says so, the failed invalidation is reported.
      process.emitWarning(`@toolkit/nestjs: invalidating ${String(spec)} failed: ${String(error)}`, { code: 'TOOLKIT_NESTJS_INVALIDATE' });
    }
    return value;
  }
}

function viewOf(req: NestRequest): HttpRequest {
  return { method: req.method ?? 'GET', url: req.originalUrl ?? req.url ?? '/', headers: req.headers, params: req.params ?? {} };
}
