// Type tests: checked by `pnpm typecheck` (tsc), never run. The plugin's decorators and route config are typed.
import type { Cache } from '@toolkit/cache';
import Fastify from 'fastify';
import { toolkitCache } from './plugin';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_proof?: T) => undefined;

const app = Fastify();
void app.register(toolkitCache, { ttl: '30s', env: false, errors: { circuitRetryAfter: '10s' } });
assertType<Equal<typeof app.cache, Cache>>();

app.get('/items/:id', { config: { cache: { ttl: '1m', tags: (request) => [request.url], vary: { query: ['page'] } } } }, async () => 'x');
app.post('/items/:id', { config: { invalidate: ['item:{id}'] } }, async () => 'x');
// Route config is typed where Fastify does not infer a config type of its own from the object literal.
const config: import('fastify').FastifyContextConfig = { cache: { ttl: '1m' }, invalidate: (request) => [request.url] };
// @ts-expect-error cache config is `true` or options
const _bad: import('fastify').FastifyContextConfig = { cache: 'yes' };
app.get('/typed', { config }, async () => 'x');
// @ts-expect-error unknown plugin option
void app.register(toolkitCache, { tll: '30s' });
