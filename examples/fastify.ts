import Fastify from 'fastify';
import { toolkitCache } from '@toolkit/fastify';

const products = new Map([['1', { id: '1', name: 'Lamp', price: 30 }]]);

const app = Fastify();
// The cache: from CACHE_URL (redis://… through @toolkit/cache-redis), else in memory. Closed with the app.
await app.register(toolkitCache, { ttl: '30s', staleOnError: '5m' });

app.get<{ Params: { id: string } }>(
  '/products/:id',
  { config: { cache: { tags: ['product:{id}'], vary: { headers: ['accept-language'] } } } },
  async (request, reply) => products.get(request.params.id) ?? reply.code(404).send({ error: 'not found' }),
);
app.put<{ Params: { id: string }; Body: { price: number } }>(
  '/products/:id',
  { config: { invalidate: ['product:{id}'] } }, // drops the cached GET once this answers 2xx
  async (request) => {
    const product = { ...products.get(request.params.id)!, price: request.body.price };
    products.set(request.params.id, product);
    return product;
  },
);

const url = await app.listen({ host: '127.0.0.1', port: 0 });
for (const init of [{}, {}, { method: 'PUT', body: '{"price":25}', headers: { 'content-type': 'application/json' } }, {}]) {
  const response = await fetch(`${url}/products/1`, init);
  console.log(init.method ?? 'GET', response.status, response.headers.get('x-cache') ?? '-', await response.text());
}
await app.close();
