import Fastify from 'fastify';
import type { FastifyRequest } from 'fastify';
import { toolkitCache } from '@toolkit/fastify';
import { describeHttpCacheContract } from '../../http-cache/test/contract';
import type { ContractRequest } from '../../http-cache/test/contract';

const contractRequest = (request: FastifyRequest): ContractRequest => ({
  params: request.params as Record<string, string>,
  query: request.query as ContractRequest['query'],
  headers: request.headers,
});

describeHttpCacheContract('Fastify', async ({ cache, options, routes }) => {
  const app = Fastify();
  await app.register(toolkitCache, { cache, ...options });
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.path,
      config: { ...(route.cache && { cache: route.cache }), ...(route.invalidate && { invalidate: route.invalidate }) },
      handler: async (request, reply) => {
        const answer = await route.handler(contractRequest(request));
        return reply.code(answer.status).headers(answer.headers).send(answer.body);
      },
    });
  }
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
});
