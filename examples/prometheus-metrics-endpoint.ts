/**
 * @toolkit/prometheus — the metrics of a resilient() registry and its cache on a prom-client registry,
 * served at /metrics from node:http on 127.0.0.1. The example makes a few calls, scrapes itself, prints
 * the toolkit's samples and exits.
 *
 * Run: pnpm build && pnpm exec tsx examples/prometheus-metrics-endpoint.ts
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { ResilienceRegistry } from '@toolkit/core';
import { instrument } from '@toolkit/prometheus';

const register = new Registry(); // or prom-client's global `register`, the default
collectDefaultMetrics({ register }); // the process's own metrics, next to ours
const registry = new ResilienceRegistry();
const metrics = instrument({ registry, register });

const server = createServer((req, res) => {
  if (req.url !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  register.metrics().then(
    (text) => res.writeHead(200, { 'content-type': register.contentType }).end(text),
    (error: unknown) => res.writeHead(500).end(String(error)),
  );
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

// A few calls: 3 users (3 misses, one of them retried once), then 2 of them again (2 hits).
let calls = 0;
const getUser = registry.resilient({
  name: 'users',
  cache: { ttl: '1m' },
  retry: { maxAttempts: 2, delay: 5 },
  circuitBreaker: { failureThreshold: 5 },
})(async function getUser(id: number) {
  if (++calls === 1) throw new Error('cold start');
  return { id, name: `user ${id}` };
});
for (const id of [1, 2, 3, 1, 2]) await getUser(id);

const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
const ours = text.split('\n').filter((line) => line.startsWith('toolkit_') && !line.includes('_bucket'));
console.log(`GET http://127.0.0.1:${port}/metrics → ${text.split('\n').length} lines; the toolkit's samples:`);
console.log(ours.join('\n'));

assert.ok(ours.includes('toolkit_cache_requests_total{scope="getUser",result="hit"} 2'));
assert.ok(ours.includes('toolkit_cache_requests_total{scope="getUser",result="miss"} 3'));
assert.ok(ours.includes('toolkit_resilience_retries_total{function="getUser",error_type="Error"} 1'));
assert.ok(ours.includes('toolkit_resilience_calls_total{function="getUser",outcome="success"} 3'));
assert.ok(ours.includes('toolkit_resilience_circuit_state{breaker="users",state="closed"} 1'));

metrics.stop();
await new Promise<void>((resolve, reject) => server.close((error) => (error === undefined ? resolve() : reject(error))));
