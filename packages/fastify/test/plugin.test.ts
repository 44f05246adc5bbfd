import { Readable } from 'node:stream';
import { Cache } from '@toolkit/cache';
import { CircuitOpenError } from '@toolkit/core';
import { toolkitCache } from '@toolkit/fastify';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';

describe('@toolkit/fastify', () => {
  let app: FastifyInstance;
  afterEach(async () => {
    await app.close();
  });

  it('caches a route through inject(), by its config', async () => {
    app = Fastify();
    await app.register(toolkitCache, { env: false, ttl: '30s' });
    let runs = 0;
    app.get('/items/:id', { config: { cache: { tags: ['item:{id}'] } } }, async (request) => ({ id: (request.params as { id: string }).id, run: ++runs }));
    app.get('/plain', async () => ({ run: ++runs }));

    const miss = await app.inject('/items/7');
    expect([miss.statusCode, miss.json(), miss.headers['x-cache'], miss.headers['cache-control']]).toEqual([200, { id: '7', run: 1 }, 'MISS', 'max-age=30']);
    expect(miss.headers['content-type']).toBe('application/json; charset=utf-8');
    const hit = await app.inject('/items/7');
    expect([hit.statusCode, hit.json(), hit.headers['x-cache'], hit.headers.age]).toEqual([200, { id: '7', run: 1 }, 'HIT', '0']);
    expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
    const notModified = await app.inject({ url: '/items/7', headers: { 'if-none-match': String(hit.headers.etag) } });
    expect([notModified.statusCode, notModified.body]).toEqual([304, '']);

    const plain = await app.inject('/plain');
    expect([plain.json(), plain.headers['x-cache'], plain.headers.etag]).toEqual([{ run: 2 }, undefined, undefined]);
    expect(await app.cache.invalidateTags(['item:7'])).toBe(1);
    expect((await app.inject('/items/7')).json()).toEqual({ id: '7', run: 3 });
  });

  it('takes your cache and leaves it open; makes its own and closes it', async () => {
    const yours = new Cache();
    const closeYours = jest.spyOn(yours, 'close');
    app = Fastify();
    await app.register(toolkitCache, { cache: yours });
    await app.ready();
    expect(app.cache).toBe(yours);
    await app.close();
    expect(closeYours).not.toHaveBeenCalled();
    await yours.close();

    app = Fastify();
    await app.register(toolkitCache, { cache: { ttl: '1m', prefix: 'mine' }, env: false });
    await app.ready();
    expect(app.cache).toBeInstanceOf(Cache);
    expect(app.cache.prefix).toBe('mine');
    const closeOwn = jest.spyOn(app.cache, 'close');
    await app.close();
    expect(closeOwn).toHaveBeenCalledTimes(1);

    const closed = new Cache();
    const closeGiven = jest.spyOn(closed, 'close');
    app = Fastify();
    await app.register(toolkitCache, { cache: closed, closeCache: true });
    await app.close();
    expect(closeGiven).toHaveBeenCalledTimes(1);
  });

  it('makes the cache from CACHE_URL with createCache(), unless env is false', async () => {
    app = Fastify();
    await app.register(toolkitCache, { env: { CACHE_URL: 'mem://', CACHE_PREFIX: 'shop', CACHE_VERSION: 'v7' } });
    await app.ready();
    expect([app.cache.prefix, app.cache.version]).toEqual(['shop', 'v7']);
    await app.close();

    app = Fastify();
    await app.register(toolkitCache, { env: false });
    expect(app.cache.prefix).toBe('svc');
  });

  it('refuses an unknown option name with the closest valid one, and takes register()’s own', async () => {
    app = Fastify();
    await expect(app.register(toolkitCache, { env: false, closeCach: true } as never)).rejects.toThrow(
      new TypeError('unknown @toolkit/fastify option `closeCach`: did you mean `closeCache`?'),
    );
    app = Fastify();
    await app.register(toolkitCache, { env: false, logLevel: 'warn', ttl: '5s' });
    expect(() => app.get('/x', { config: { cache: { vary: { querys: ['a'] } } as never } }, async () => 'x')).toThrow(
      new TypeError('unknown route cache option `vary.querys`: did you mean `vary.query`?'),
    );
  });

  it('fails at start-up on a bad route option', async () => {
    app = Fastify();
    await app.register(toolkitCache, { env: false });
    expect(() => app.get('/x', { config: { cache: { ttl: 0 } } }, async () => 'x')).toThrow('`ttl` of a cached route must be finite and positive');
  });

  it('sends a stream as it is, without storing it', async () => {
    app = Fastify();
    await app.register(toolkitCache, { env: false });
    let runs = 0;
    app.get('/stream', { config: { cache: true } }, async (_request, reply) => reply.type('text/plain').send(Readable.from([`run=${++runs}`])));
    const first = await app.inject('/stream');
    expect([first.body, first.headers['x-cache']]).toEqual(['run=1', 'MISS']);
    expect((await app.inject('/stream')).body).toBe('run=2');
  });

  it('leaves resilience errors to your error handler with errors: false', async () => {
    app = Fastify();
    await app.register(toolkitCache, { env: false, errors: false });
    app.setErrorHandler(async (error, _request, reply) => reply.code(418).send({ mine: (error as Error).name }));
    app.get('/open', async () => {
      throw new CircuitOpenError();
    });
    const answer = await app.inject('/open');
    expect([answer.statusCode, answer.json()]).toEqual([418, { mine: 'CircuitOpenError' }]);
  });

  it('maps resilience errors whatever the error handler sent, and leaves others to it', async () => {
    app = Fastify();
    await app.register(toolkitCache, { env: false, errors: { exposeMessage: false } });
    app.setErrorHandler(async (error, _request, reply) => reply.code(500).send({ mine: (error as Error).message }));
    app.get('/open', async () => {
      throw new CircuitOpenError();
    });
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    const open = await app.inject('/open');
    expect([open.statusCode, open.json(), open.headers['retry-after']]).toEqual([503, { error: 'Service Unavailable', code: 'E_CIRCUIT_OPEN' }, undefined]);
    const boom = await app.inject('/boom');
    expect([boom.statusCode, boom.json()]).toEqual([500, { mine: 'boom' }]);
  });
});
