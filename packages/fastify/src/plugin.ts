import type { Cache } from '@toolkit/cache';
import { ResponseCache, errorResponse, openCache, stripConditionals } from '@toolkit/http-cache';
import type { CapturedResponse, HttpRequest, HttpResponse, Lead } from '@toolkit/http-cache';
import type { FastifyInstance, FastifyPluginAsync, RegisterOptions, FastifyReply, FastifyRequest, onSendHookHandler, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { checkToolkitCacheOptions } from './options';
import type { FastifyInvalidate, FastifyRouteCache, ToolkitCacheOptions } from './options';

declare module 'fastify' {
  interface FastifyInstance {
    /** The `@toolkit/cache` of the app (decorated by `@toolkit/fastify`). */
    cache: Cache;
    /** The response cache of the app's cached routes (decorated by `@toolkit/fastify`). */
    responseCache: ResponseCache<FastifyRequest>;
  }
  interface FastifyContextConfig {
    /** Cache this route's responses (`@toolkit/fastify`): `true` for the plugin's defaults, or options. */
    cache?: FastifyRouteCache;
    /** Tags to drop once this route answered 2xx (`@toolkit/fastify`). */
    invalidate?: FastifyInvalidate;
  }
}

const DEFAULTS = {};

/** The state of one request of a cached route. */
interface Pending {
  lead: Lead;
  error?: unknown;
}

async function toolkitCachePlugin(app: FastifyInstance, options: ToolkitCacheOptions): Promise<void> {
  checkToolkitCacheOptions(options);
  // prefix, logLevel, logSerializers: register()'s own, handed to the plugin too.
  const { cache: given, env = process.env, closeCache, errors = true, prefix: _prefix, logLevel: _logLevel, logSerializers: _logSerializers, ...responseOptions } = options as ToolkitCacheOptions & RegisterOptions;
  const made = await openCache(given, env);
  const responses = new ResponseCache<FastifyRequest>(made.cache, responseOptions);
  const errorOptions = typeof errors === 'object' ? errors : {};
  const pending = new WeakMap<FastifyRequest, Pending>();
  const failures = new WeakMap<FastifyRequest, unknown>();

  app.decorate('cache', made.cache);
  app.decorate('responseCache', responses);
  app.addHook('onReady', async () => {
    await made.cache.ready;
  });
  if (closeCache ?? made.owned) app.addHook('onClose', async () => made.close());

  // The handler's error, for a stale answer or a 503/504 in onSend.
  app.addHook('onError', async (request, _reply, error) => {
    failures.set(request, error);
  });
  if (errors !== false) {
    app.addHook('onSend', async (request, reply, payload) => {
      const mapped = failures.has(request) ? errorResponse(failures.get(request), errorOptions) : undefined;
      if (mapped === undefined) return payload;
      return replace(reply, mapped);
    });
  }

  const cachedPreHandler = (route: FastifyRouteCache): preHandlerAsyncHookHandler =>
    async function toolkitCacheLookup(request, reply) {
      const view = viewOf(request);
      const lookup = await responses.begin(view, route === true ? DEFAULTS : route, request);
      if (lookup.action === 'serve') {
        reply.code(lookup.response.status).headers(lookup.response.headers).send(lookup.response.body);
        return reply;
      }
      if (lookup.action === 'lead') {
        stripConditionals(request.headers);
        pending.set(request, { lead: lookup.lead });
      }
    };

  const cachedOnSend: onSendHookHandler = async function toolkitCacheStore(request, reply, payload) {
    const state = pending.get(request);
    if (state === undefined) return payload;
    pending.delete(request);
    const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : payload == null ? Buffer.alloc(0) : undefined;
    if (body === undefined) {
      // A stream: sent as it is, not stored.
      state.lead.abandon();
      if (responses.header !== undefined) reply.header(responses.header, 'MISS');
      return payload;
    }
    if (reply.statusCode >= 500) {
      const stale = await state.lead.fail(failures.get(request) ?? new Error(`the handler answered ${reply.statusCode}`));
      return stale === undefined ? payload : replace(reply, stale);
    }
    const captured: CapturedResponse = { status: reply.statusCode, headers: reply.getHeaders() as CapturedResponse['headers'], body };
    return replace(reply, await state.lead.complete(captured));
  };

  // The client left, or a hook answered first: the waiting requests run their own handler.
  const release = async (request: FastifyRequest) => {
    pending.get(request)?.lead.abandon();
    pending.delete(request);
  };

  const invalidateOnSend = (spec: FastifyInvalidate): onSendHookHandler =>
    async function toolkitCacheInvalidate(request, reply, payload) {
      if (reply.statusCode >= 200 && reply.statusCode < 300) await responses.invalidate(spec, viewOf(request), request);
      return payload;
    };

  app.addHook('onRoute', (route) => {
    const config = route.config as { cache?: FastifyRouteCache; invalidate?: FastifyInvalidate } | undefined;
    if (config?.cache !== undefined) {
      if (config.cache !== true) responses.check(config.cache); // a bad option fails at start-up
      route.preHandler = [...asArray(route.preHandler), cachedPreHandler(config.cache)];
      // Last, after the route's own onSend hooks (it stores what they made); but on the HEAD route Fastify
      // derives from a GET, before Fastify's hook that drops the body, so the stored body and its length are the GET's.
      const onSend = asArray(route.onSend);
      const headHook = onSend.findIndex((hook) => hook.name === 'headRouteOnSendHandler');
      onSend.splice(headHook === -1 ? onSend.length : headHook, 0, cachedOnSend);
      route.onSend = onSend;
      route.onResponse = [...asArray(route.onResponse), release];
      route.onRequestAbort = [...asArray(route.onRequestAbort), release];
    }
    if (config?.invalidate !== undefined) route.onSend = [...asArray(route.onSend), invalidateOnSend(config.invalidate)];
  });
}

function viewOf(request: FastifyRequest): HttpRequest {
  return { method: request.method, url: request.url, headers: request.headers, params: request.params as Record<string, unknown> };
}

function asArray<T>(hooks: T | T[] | undefined): T[] {
  return hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];
}

/** Replaces the reply's status and headers with the response's, and returns its body for onSend. */
function replace(reply: FastifyReply, response: HttpResponse): Buffer {
  for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
  reply.code(response.status).headers(response.headers);
  return response.body;
}

/**
 * The Fastify plugin of `@toolkit/cache`: makes or takes a `Cache`, waits for it on ready, closes it on
 * close, decorates `app.cache`, caches the responses of routes whose `config.cache` is set, and drops
 * the tags of routes whose `config.invalidate` is set once they answered 2xx. Register it before your
 * routes.
 *
 * @example
 * const app = Fastify();
 * await app.register(toolkitCache, { ttl: '30s' }); // CACHE_URL=redis://… for a Redis L2
 * app.get('/items/:id', { config: { cache: { tags: ['item:{id}'] } } }, async (req) => loadItem(req.params));
 * app.put('/items/:id', { config: { invalidate: ['item:{id}'] } }, async (req) => saveItem(req.params, req.body));
 */
export const toolkitCache: FastifyPluginAsync<ToolkitCacheOptions> = fp(toolkitCachePlugin, {
  fastify: '5.x',
  name: '@toolkit/fastify',
});
