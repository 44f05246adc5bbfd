/**
 * resilient() — the circuit breaker: opens after consecutive failures, rejects at once while open
 * (the function is not called), half-opens after `halfOpenAfter` and closes on a successful trial;
 * slow calls counted as failures; `isolate()` / `reset()`; a breaker shared by name, `health()`, and a
 * state saved with `toJSON()` and restored with `initialState`.
 *
 * Run: pnpm build && pnpm exec tsx examples/core-circuit-breaker.ts
 */
import assert from 'node:assert/strict';
import { EventType, ResilienceRegistry, isCircuitOpenError } from '@toolkit/core';
import type { EventTypeName } from '@toolkit/core';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// A registry of our own: its breakers are named, shared and reported by health().
const registry = new ResilienceRegistry();
const seen: string[] = [];
const circuitEvents = new Set<EventTypeName>([EventType.CIRCUIT_OPEN, EventType.CIRCUIT_HALF_OPEN, EventType.CIRCUIT_CLOSED]);
registry.on('*', (event) => {
  if (circuitEvents.has(event.type)) seen.push(event.type);
});

const payments = { calls: 0, up: false };
const charge = registry.resilient({
  name: 'payments', // names the pipeline and its breaker
  circuitBreaker: { failureThreshold: 3, halfOpenAfter: 100 },
})(async (cents: number) => {
  payments.calls++;
  await sleep(2);
  if (!payments.up) throw new Error('payment gateway down');
  return `charged ${cents}`;
});
const breaker = charge.circuitBreaker;
assert.ok(breaker);

// 1. Three failures in a row open the circuit.
for (let i = 0; i < 3; i++) await assert.rejects(charge(100), /gateway down/);
assert.equal(breaker.state, 'open');
assert.deepEqual(seen, [EventType.CIRCUIT_OPEN]);
console.log(`3 failures -> circuit ${breaker.state}`);

// 2. While open, calls are rejected at once: the gateway is not called.
const started = performance.now();
const rejected = await charge(100).catch((error: unknown) => error);
assert.ok(isCircuitOpenError(rejected));
assert.equal(rejected.code, 'E_CIRCUIT_OPEN');
assert.equal(rejected.isolated, false);
assert.equal(payments.calls, 3);
console.log(`open: rejected in ${(performance.now() - started).toFixed(1)} ms with ${rejected.name} (${rejected.code}), no gateway call`);
assert.equal(registry.health().payments?.state, 'open');
assert.match(String((registry.health().payments?.lastFailure as { error: Error }).error), /gateway down/);

// 3. After halfOpenAfter, one trial call goes through; it succeeds, so the circuit closes.
await sleep(110);
payments.up = true;
assert.equal(await charge(250), 'charged 250');
assert.equal(breaker.state, 'closed');
assert.deepEqual(seen, [EventType.CIRCUIT_OPEN, EventType.CIRCUIT_HALF_OPEN, EventType.CIRCUIT_CLOSED]);
console.log(`110 ms later: trial call succeeded -> ${seen.slice(1).join(', ')} -> circuit ${breaker.state}`);

// 4. Hold it open by hand (maintenance), then close it.
breaker.isolate();
const isolated = await charge(1).catch((error: unknown) => error);
assert.ok(isCircuitOpenError(isolated) && isolated.isolated);
breaker.reset();
assert.equal(await charge(1), 'charged 1');
console.log(`isolate(): calls rejected (isolated: true) until reset(); now ${breaker.state}`);

// 5. Slow calls count as failures (their results are still returned), and emit SLOW_CALL.
const slowCalls: number[] = [];
const report = registry.resilient({ circuitBreaker: { failureThreshold: 2, slowCallThreshold: 20, halfOpenAfter: '1m' } })(
  async () => {
    await sleep(30);
    return 'report';
  },
);
registry.on(EventType.SLOW_CALL, (event) => slowCalls.push(Math.round(event.durationMs ?? 0)));
assert.equal(await report(), 'report');
assert.equal(await report(), 'report');
assert.equal(report.circuitBreaker?.state, 'open');
await assert.rejects(report(), (error) => isCircuitOpenError(error));
console.log(`slowCallThreshold 20 ms: two 30 ms calls returned, counted as failures (SLOW_CALL x${slowCalls.length}) -> open`);

// 6. A breaker shared by name: one dependency, two functions, one circuit.
const readStock = registry.resilient({ circuitBreaker: { name: 'inventory', failureThreshold: 1, halfOpenAfter: '1m' } })(
  async (_sku: string): Promise<number> => {
    throw new Error('inventory db down');
  },
);
const reserve = registry.resilient({ circuitBreaker: { name: 'inventory' } })(async (sku: string) => `reserved ${sku}`);
await assert.rejects(readStock('A-1'), /inventory db down/);
await assert.rejects(reserve('A-1'), (error) => isCircuitOpenError(error)); // same circuit: already open
assert.equal(readStock.circuitBreaker, reserve.circuitBreaker);
assert.equal(registry.breaker('inventory')?.state, 'open');
const health = Object.fromEntries(Object.entries(registry.health()).map(([name, h]) => [name, h.state]));
assert.deepEqual(health, { payments: 'closed', inventory: 'open' });
console.log(`shared breaker 'inventory': reserve() rejected after readStock() failed; health() = ${JSON.stringify(health)}`);

// 7. Save the state (e.g. between serverless invocations) and start a new breaker from it.
const saved = JSON.stringify(registry.breaker('inventory')?.toJSON());
const restored = new ResilienceRegistry().resilient({
  circuitBreaker: { initialState: JSON.parse(saved) as unknown, halfOpenAfter: '1m' },
})(async () => 'never runs while open');
assert.equal(restored.circuitBreaker?.state, 'open');
await assert.rejects(restored(), (error) => isCircuitOpenError(error));
console.log(`toJSON() -> initialState: the restored breaker starts ${restored.circuitBreaker?.state}`);
