import express from 'express';
import { toolkitCache } from '@toolkit/express';

const products = new Map([['1', { id: '1', name: 'Lamp', price: 30 }]]);

// The cache: from CACHE_URL (redis://… through @toolkit/cache-redis), else in memory.
const toolkit = await toolkitCache({ ttl: '30s', staleOnError: '5m' });
const app = express();
app.use(express.json());
toolkit.install(app); // req.cache and app.locals.cache

app.get('/products/:id', toolkit.cached({ tags: ['product:{id}'], vary: { headers: ['accept-language'] } }), (req, res) => {
  const product = products.get(req.params.id);
  if (product === undefined) res.status(404).json({ error: 'not found' });
  else res.json(product);
});
app.put('/products/:id', toolkit.invalidate(['product:{id}']), (req, res) => {
  const product = { ...products.get(req.params.id)!, price: Number(req.body.price) };
  products.set(req.params.id, product);
  res.json(product); // the cached GET is dropped before this leaves
});
app.use(toolkit.errors()); // resilient() errors: 503 / 504 with Retry-After

const server = await toolkit.listen(app); // 127.0.0.1, port 0; closing the server closes the cache
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
for (const init of [{}, {}, { method: 'PUT', body: '{"price":25}', headers: { 'content-type': 'application/json' } }, {}]) {
  const response = await fetch(`${url}/products/1`, init);
  console.log(init.method ?? 'GET', response.status, response.headers.get('x-cache') ?? '-', await response.text());
}
server.close();
await toolkit.close();
