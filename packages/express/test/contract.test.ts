import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { toolkitCache } from '@toolkit/express';
import { describeHttpCacheContract } from '../../http-cache/test/contract';

describeHttpCacheContract('Express', async ({ cache, options, routes }) => {
  const { errors, ...responseOptions } = options;
  const toolkit = await toolkitCache({ cache, errors, ...responseOptions });
  const app = express();
  toolkit.install(app);
  for (const route of routes) {
    const middleware = [
      ...(route.cache ? [toolkit.cached(route.cache)] : []),
      ...(route.invalidate ? [toolkit.invalidate(route.invalidate)] : []),
    ];
    const register = route.method === 'GET' ? app.get.bind(app) : app.post.bind(app);
    register(route.path, ...middleware, async (req: express.Request, res: express.Response) => {
      const answer = await route.handler({ params: req.params as Record<string, string>, query: req.query as Record<string, string>, headers: req.headers });
      res.status(answer.status).set(answer.headers).send(answer.body);
    });
  }
  app.use(toolkit.errors());
  const server: Server = await toolkit.listen(app);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
});
