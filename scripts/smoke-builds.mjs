// Loads every package's built ESM and CommonJS entry points and makes one real call through each, so
// a packaging mistake fails CI even though the unit tests run against sources.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Buffer } from 'node:buffer';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const root = new URL('../packages/', import.meta.url).pathname;

/** One real use per package, written against its public API. */
const exercises = {
  '@toolkit/cache': async ({ Cache }) => {
    let runs = 0;
    const double = new Cache().cached(async (n) => (runs++, n * 2));
    const answers = [await double(21), await double(21)];
    if (answers.join() !== '42,42' || runs !== 1) throw new Error(`cached(): ${answers} after ${runs} runs`);
  },
  '@toolkit/core': async ({ ResilienceRegistry }) => {
    let attempts = 0;
    const flaky = new ResilienceRegistry().resilient({ retry: { maxAttempts: 2, delay: 1 }, timeout: '1s', cache: {} })(
      async (n) => {
        if (++attempts === 1) throw new Error('first attempt fails');
        return n + 1;
      },
    );
    const answers = [await flaky(41), await flaky(41)];
    if (answers.join() !== '42,42' || attempts !== 2) throw new Error(`resilient(): ${answers} after ${attempts} attempts`);
  },
  '@toolkit/cache-redis': async ({ createCache, RedisStore }) => {
    const memory = createCache({ CACHE_URL: 'mem://' });
    if (memory.store !== undefined || (await memory.cache.cached(async () => 1)()) !== 1) throw new Error('createCache(mem://)');
    await memory.close();
    // A real round trip when a Redis answers (CI has one; a laptop may not: the unit of work above still ran).
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const store = RedisStore.connect(url, { prefix: 'smoke', version: `p${process.pid}` });
    try {
      await store.ping();
    } catch {
      console.log(`     (no Redis at ${url}: Redis round trip skipped)`);
      await store.close();
      return;
    }
    const entry = { value: { ok: true }, freshUntil: Date.now() + 10_000, staleUntil: Date.now() + 10_000, tags: [] };
    await store.setMany([['k', entry]]);
    const [got] = await store.getMany(['k']);
    await store.deleteByPrefix('');
    await store.close();
    if (got?.value?.ok !== true) throw new Error(`RedisStore round trip: ${JSON.stringify(got)}`);
  },
  '@toolkit/otel': async ({ instrument, MetricName }) => {
    // The real SDK (a devDependency of the package) with a pull reader; the cache is @toolkit/cache's build.
    const from = createRequire(join(root, 'otel', 'package.json'));
    const { MeterProvider, MetricReader } = from('@opentelemetry/sdk-metrics');
    const { Cache } = from('@toolkit/cache');
    class PullReader extends MetricReader {
      onForceFlush() { return Promise.resolve(); }
      onShutdown() { return Promise.resolve(); }
    }
    const reader = new PullReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const cache = new Cache();
    const telemetry = instrument({ cache, meterProvider, traces: false });
    const square = cache.cached(async (n) => n * n, { name: 'square' });
    await square(3);
    await square(3);
    const { resourceMetrics } = await reader.collect();
    const requests = resourceMetrics.scopeMetrics[0].metrics.find((m) => m.descriptor.name === MetricName.CACHE_REQUESTS);
    const counts = Object.fromEntries(requests.dataPoints.map((p) => [p.attributes['toolkit.cache.result'], p.value]));
    telemetry.stop();
    await meterProvider.shutdown();
    if (counts.hit !== 1 || counts.miss !== 1) throw new Error(`instrument(): ${JSON.stringify(counts)}`);
  },
  '@toolkit/prometheus': async ({ instrument, PrometheusMetricName }) => {
    const from = createRequire(join(root, 'prometheus', 'package.json'));
    const { Registry } = from('prom-client');
    const { Cache } = from('@toolkit/cache');
    const register = new Registry();
    const cache = new Cache();
    const metrics = instrument({ cache, register });
    const square = cache.cached(async (n) => n * n, { name: 'square' });
    await square(3);
    await square(3);
    const text = await register.metrics();
    metrics.stop();
    const hit = `${PrometheusMetricName.CACHE_REQUESTS}{scope="square",result="hit"} 1`;
    if (!text.includes(hit)) throw new Error(`instrument(): no \`${hit}\` in\n${text}`);
  },
  '@toolkit/http-cache': async ({ ResponseCache, errorResponse }) => {
    const { Cache } = createRequire(join(root, 'http-cache', 'package.json'))('@toolkit/cache');
    const cache = new Cache();
    const http = new ResponseCache(cache, { ttl: '1m' });
    const request = { method: 'GET', url: '/smoke', headers: {} };
    const first = await http.begin(request, {}, undefined);
    if (first.action !== 'lead') throw new Error(`first request: ${first.action}`);
    await first.lead.complete({ status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('ok') });
    const second = await http.begin(request, {}, undefined);
    await cache.close();
    if (second.action !== 'serve' || second.response.headers['x-cache'] !== 'HIT') throw new Error(`second request: ${second.action}`);
    if (errorResponse(new Error('not ours')) !== undefined) throw new Error('errorResponse(Error)');
  },
  '@toolkit/fastify': async ({ toolkitCache }) => {
    const Fastify = createRequire(join(root, 'fastify', 'package.json'))('fastify');
    const app = Fastify();
    await app.register(toolkitCache, { env: false });
    let runs = 0;
    app.get('/smoke', { config: { cache: true } }, async () => ({ run: ++runs }));
    const answers = [await app.inject('/smoke'), await app.inject('/smoke')].map((r) => `${r.headers['x-cache']} ${r.body}`);
    await app.close();
    if (answers.join() !== 'MISS {"run":1},HIT {"run":1}') throw new Error(`plugin: ${answers}`);
  },
  '@toolkit/express': async ({ toolkitCache }) => {
    const express = createRequire(join(root, 'express', 'package.json'))('express');
    const toolkit = await toolkitCache({ env: false });
    const app = express();
    let runs = 0;
    app.get('/smoke', toolkit.cached(), (_req, res) => res.json({ run: ++runs }));
    const server = await toolkit.listen(app);
    const url = `http://127.0.0.1:${server.address().port}/smoke`;
    const answers = [];
    for (let i = 0; i < 2; i++) {
      const response = await globalThis.fetch(url);
      answers.push(`${response.headers.get('x-cache')} ${await response.text()}`);
    }
    server.close();
    await toolkit.close();
    if (answers.join() !== 'MISS {"run":1},HIT {"run":1}') throw new Error(`middleware: ${answers}`);
  },
  '@toolkit/nestjs': async ({ ToolkitCacheModule, CacheResponse, Cached }) => {
    const from = createRequire(join(root, 'nestjs', 'package.json'));
    const { Controller, Get, Injectable, Module } = from('@nestjs/common');
    const { NestFactory } = from('@nestjs/core');
    // Nest's legacy decorators, applied by hand (plain JavaScript has no decorator syntax).
    const decorate = (target, name, ...decorators) => {
      let descriptor = Object.getOwnPropertyDescriptor(target.prototype, name);
      for (const decorator of decorators.reverse()) descriptor = decorator(target.prototype, name, descriptor) ?? descriptor;
      Object.defineProperty(target.prototype, name, descriptor);
    };
    let loads = 0;
    class Squares {
      async of(n) {
        loads++;
        return n * n;
      }
    }
    decorate(Squares, 'of', Cached());
    Injectable()(Squares);
    let runs = 0;
    class SmokeController {
      smoke() {
        return { run: ++runs };
      }
    }
    decorate(SmokeController, 'smoke', Get('smoke'), CacheResponse());
    Controller()(SmokeController);
    class AppModule {}
    Module({ imports: [ToolkitCacheModule.forRoot({ env: false })], controllers: [SmokeController], providers: [Squares] })(AppModule);
    const app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    const answers = [];
    for (let i = 0; i < 2; i++) {
      const response = await globalThis.fetch(`${await app.getUrl()}/smoke`);
      answers.push(`${response.headers.get('x-cache')} ${await response.text()}`);
    }
    const squares = app.get(Squares);
    const squared = [await squares.of(3), await squares.of(3)];
    await app.close();
    if (answers.join() !== 'MISS {"run":1},HIT {"run":1}') throw new Error(`@CacheResponse: ${answers}`);
    if (squared.join() !== '9,9' || loads !== 1) throw new Error(`@Cached: ${squared} after ${loads} loads`);
  },
};

let failed = false;
for (const dir of readdirSync(root)) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  const exported = pkg.exports['.'];
  for (const [format, load] of [
    ['esm', () => import(join(root, dir, exported.import.default))],
    ['cjs', async () => require(join(root, dir, exported.require.default))],
  ]) {
    try {
      const mod = await load();
      const exercise = exercises[pkg.name];
      if (exercise === undefined) throw new Error('no smoke exercise: add one to scripts/smoke-builds.mjs');
      await exercise(mod);
      console.log(`ok   ${pkg.name} (${format})`);
    } catch (error) {
      failed = true;
      console.error(`FAIL ${pkg.name} (${format}): ${error.stack ?? error}`);
    }
  }
}
if (failed) process.exit(1);
