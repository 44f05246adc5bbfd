import { Body, Controller, Get, Inject, Injectable, Module, NotFoundException, Param, Put } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CacheResponse, Cached, InvalidateTags, ToolkitCacheModule } from '@toolkit/nestjs';

interface Product {
  id: string;
  name: string;
  price: number;
}

@Injectable()
class ProductsService {
  readonly #rows = new Map([['1', { id: '1', name: 'Lamp', price: 30 }]]);
  loads = 0;

  // In the module's cache, keyed by the arguments (not `this`), tagged so that a write drops it.
  @Cached({ ttl: '5m', tags: ['product:{0}'] })
  async find(id: string): Promise<Product | undefined> {
    this.loads++;
    return this.#rows.get(id);
  }

  async setPrice(id: string, price: number): Promise<Product> {
    const product = { ...(await this.find(id))!, price };
    this.#rows.set(id, product);
    return product;
  }
}

@Controller('products')
class ProductsController {
  // tsx emits no decorator metadata, so the injected class is named; with tsc or swc its type is enough.
  constructor(@Inject(ProductsService) private readonly products: ProductsService) {}

  @Get(':id')
  @CacheResponse({ tags: ['product:{id}'], vary: { headers: ['accept-language'] } })
  async find(@Param('id') id: string): Promise<Product> {
    const product = await this.products.find(id);
    if (product === undefined) throw new NotFoundException();
    return product;
  }

  @Put(':id')
  @InvalidateTags('product:{id}') // drops the cached GET (and find()'s entry) once this answers 2xx
  setPrice(@Param('id') id: string, @Body() body: { price: number }): Promise<Product> {
    return this.products.setPrice(id, body.price);
  }
}

@Module({
  // The cache: from CACHE_URL (redis://… through @toolkit/cache-redis), else in memory. Closed with the app.
  imports: [ToolkitCacheModule.forRoot({ ttl: '30s', staleOnError: '5m' })],
  controllers: [ProductsController],
  providers: [ProductsService],
})
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
const url = await app.getUrl();
for (const init of [{}, {}, { method: 'PUT', body: '{"price":25}', headers: { 'content-type': 'application/json' } }, {}]) {
  const response = await fetch(`${url}/products/1`, init);
  console.log(init.method ?? 'GET', response.status, response.headers.get('x-cache') ?? '-', await response.text());
}
console.log('find() loaded', app.get(ProductsService).loads, 'times');
await app.close();
