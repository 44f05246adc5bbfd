import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cache } from '@toolkit/cache';
import { TimeoutError } from '@toolkit/core';
import { toolkitCache } from '@toolkit/express';
import express from 'express';

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('@toolkit/express over a listening server', () => {
  let server: Server | undefined;
  afterEach(async () => {
    if (server?.listening) await closeServer(server);
    server = undefined;
  });

  it('refuses an unknown option name with the closest valid one', async () => {
    await expect(toolkitCache({ env: false, tll: '1m' } as never)).rejects.toThrow(new TypeError('unknown toolkitCache() option `tll`: did you mean `ttl`?'));
    await expect(toolkitCache({ env: false, errors: { exposeMessages: false } } as never)).rejects.toThrow(
      new TypeError('unknown toolkitCache() option `errors.exposeMessages`: did you mean `errors.exposeMessage`?'),
    );
    const toolkit = await toolkitCache({ env: false });
    expect(() => toolkit.cached({ tag: ['a'] } as never)).toThrow(new TypeError('unknown route cache option `tag`: did you mean `tags`?'));
    await toolkit.cache.close();
  });

  it('puts the cache on app.locals and req', async () => {
    const toolkit = await toolkitCache({ env: false });
    const app = express();
    toolkit.install(app);
    app.get('/same', (req, res) => {
      res.json({ req: req.cache === toolkit.cache, locals: req.app.locals.cache === toolkit.cache });
    });
    server = await toolkit.listen(app);
    expect(await (await fetch(`${urlOf(server)}/same`)).json()).toEqual({ req: true, locals: true });
    expect(app.locals.cache).toBe(toolkit.cache);
  });

  it('stores a body written in chunks, and sends one over maxBodyBytes as it comes', async () => {
    const toolkit = await toolkitCache({ env: false, maxBodyBytes: 10 });
    const app = express();
    let runs = 0;
    const chunked = (parts: string[]): express.RequestHandler => (_req, res) => {
      runs++;
      res.type('text/plain');
      for (const part of parts) res.write(part);
      res.end(`|${runs}`);
    };
    app.get('/small', toolkit.cached(), chunked(['a', 'b']));
    app.get('/large', toolkit.cached(), chunked(['0123456789', 'abcdef']));
    server = await toolkit.listen(app);
    const url = urlOf(server);

    const small = await fetch(`${url}/small`);
    expect([await small.text(), small.headers.get('x-cache')]).toEqual(['ab|1', 'MISS']);
    const again = await fetch(`${url}/small`);
    expect([await again.text(), again.headers.get('x-cache'), again.headers.get('content-length')]).toEqual(['ab|1', 'HIT', '4']);

    const large = await fetch(`${url}/large`);
    expect([await large.text(), large.headers.get('x-cache'), large.headers.get('age')]).toEqual(['0123456789abcdef|2', 'MISS', null]);
    expect(await (await fetch(`${url}/large`)).text()).toBe('0123456789abcdef|3');
  });

  it('closes its own cache with the server, and leaves yours open', async () => {
    const own = await toolkitCache({ env: false });
    const closeOwn = jest.spyOn(own.cache, 'close');
    server = await own.listen(express());
    await closeServer(server);
    await own.close(); // the same promise the server's close started
    expect(closeOwn).toHaveBeenCalledTimes(1);

    const yours = new Cache();
    const closeYours = jest.spyOn(yours, 'close');
    const given = await toolkitCache({ cache: yours });
    server = given.closeWith(express().listen(0, '127.0.0.1'));
    await new Promise((resolve) => server?.once('listening', resolve));
    await closeServer(server);
    await given.close();
    expect(closeYours).not.toHaveBeenCalled();
    await yours.close();
  });

  it('makes the cache from CACHE_URL with createCache()', async () => {
    const toolkit = await toolkitCache({ env: { CACHE_URL: 'mem://', CACHE_PREFIX: 'shop' } });
    expect(toolkit.cache.prefix).toBe('shop');
    await toolkit.close();
  });

  it('maps resilience errors to 504/503 and passes other errors on', async () => {
    const toolkit = await toolkitCache({ env: false, errors: { exposeMessage: false } });
    const app = express();
    app.get('/slow', async () => {
      throw new TimeoutError({ timeoutMs: 10 });
    });
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    app.use(toolkit.errors());
    app.use(((error, _req, res, _next) => {
      res.status(500).json({ mine: (error as Error).message });
    }) as express.ErrorRequestHandler);
    server = await toolkit.listen(app);
    const slow = await fetch(`${urlOf(server)}/slow`);
    expect([slow.status, await slow.json(), slow.headers.get('cache-control')]).toEqual([504, { error: 'Gateway Timeout', code: 'E_TIMEOUT' }, 'no-store']);
    const boom = await fetch(`${urlOf(server)}/boom`);
    expect([boom.status, await boom.json()]).toEqual([500, { mine: 'boom' }]);
  });

  it('invalidates only after a 2xx', async () => {
    const toolkit = await toolkitCache({ env: false });
    const app = express();
    let runs = 0;
    app.get('/items/:id', toolkit.cached({ tags: ['item:{id}'] }), (req, res) => {
      res.send(`item ${req.params.id} run=${++runs}`);
    });
    app.post('/items/:id', toolkit.invalidate(['item:{id}']), (req, res) => {
      res.status(req.query.fail === undefined ? 201 : 409).send('done');
    });
    server = await toolkit.listen(app);
    const url = urlOf(server);
    await fetch(`${url}/items/1`);
    expect((await fetch(`${url}/items/1?fail=1`, { method: 'POST' })).status).toBe(409);
    expect(await (await fetch(`${url}/items/1`)).text()).toBe('item 1 run=1');
    expect((await fetch(`${url}/items/1`, { method: 'POST' })).status).toBe(201);
    expect(await (await fetch(`${url}/items/1`)).text()).toBe('item 1 run=2');
  });
});
