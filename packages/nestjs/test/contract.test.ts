import type { Request, Response } from 'express';
import { Controller, Get, Module, Post, Req, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CacheResponse, InvalidateTags, ToolkitCacheModule } from '@toolkit/nestjs';
import { describeHttpCacheContract } from '../../http-cache/test/contract';
import type { ContractRoute } from '../../http-cache/test/contract';

/** A controller serving the contract's routes, decorated as a user would decorate their own. */
function contractController(routes: readonly ContractRoute[]): new () => object {
  class ContractController {}
  const prototype = ContractController.prototype as unknown as Record<string, unknown>;
  routes.forEach((route, index) => {
    const name = `route${index}`;
    // The handler sends the answer itself (`@Res()`): exactly the status, headers and body the contract says.
    prototype[name] = async (req: Request, res: Response) => {
      const answer = await route.handler({ params: req.params as Record<string, string>, query: req.query as Record<string, string>, headers: req.headers });
      res.status(answer.status).set(answer.headers).send(answer.body);
    };
    const descriptor = Object.getOwnPropertyDescriptor(prototype, name) as PropertyDescriptor;
    const decorators: MethodDecorator[] = [
      route.method === 'GET' ? Get(route.path) : Post(route.path),
      ...(route.cache ? [CacheResponse(route.cache)] : []),
      ...(route.invalidate ? [InvalidateTags(...route.invalidate)] : []),
    ];
    for (const decorate of decorators) decorate(prototype, name, descriptor);
    Req()(prototype, name, 0);
    Res()(prototype, name, 1);
  });
  Controller()(ContractController);
  return ContractController;
}

describeHttpCacheContract('NestJS (platform-express)', async ({ cache, options, routes }) => {
  @Module({ imports: [ToolkitCacheModule.forRoot({ cache, ...options })], controllers: [contractController(routes)] })
  class ContractModule {}
  const app = await NestFactory.create(ContractModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  return { url: await app.getUrl(), close: () => app.close() };
});
