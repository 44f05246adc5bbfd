// Type tests: checked by `pnpm typecheck` (tsc), never run. The middleware keep the params Express infers
// from a route's path, and req.cache / app.locals.cache are typed.
import type { Cache } from '@toolkit/cache';
import express from 'express';
import type { ToolkitCache } from './toolkitCache';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_proof?: T) => undefined;

declare const toolkit: ToolkitCache;
const app = express();

app.get('/items/:id/:part', toolkit.cached({ tags: ['item:{id}'] }), toolkit.invalidate(['x']), (req, res) => {
  assertType<Equal<typeof req.params.id, string>>();
  assertType<Equal<typeof req.params.part, string>>();
  // @ts-expect-error no such param
  void req.params.other;
  assertType<Equal<typeof req.cache, Cache>>();
  res.end();
});
assertType<Equal<typeof app.locals.cache, Cache>>();

// Function tags see Express' request.
toolkit.cached({ tags: (req) => [`user:${req.get('x-user') ?? 'anonymous'}`] });
// @ts-expect-error a ttl is a duration
toolkit.cached({ ttl: true });
