/**
 * resilient() — the bulkhead: at most `maxConcurrent` calls run at once, `maxQueue` more wait for a
 * slot, the rest are rejected at once with `BulkheadFullError`; `maxWait` bounds the time in the queue.
 * The bulkhead belongs to the pipeline, so every function it wraps shares its slots.
 *
 * Run: pnpm build && pnpm exec tsx examples/core-bulkhead.ts
 */
import assert from 'node:assert/strict';
import { EventType, isBulkheadFullError, resilient } from '@toolkit/core';
import type { EventTypeName } from '@toolkit/core';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const events: EventTypeName[] = [];
let running = 0;
let peak = 0;

// One pipeline for the reporting database: 2 queries at once, 2 more may wait.
const reportingDb = resilient({ bulkhead: { maxConcurrent: 2, maxQueue: 2 }, onEvent: (e) => events.push(e.type) });
const runQuery = reportingDb(async function runQuery(sql: string) {
  running++;
  peak = Math.max(peak, running);
  await sleep(30);
  running--;
  return `rows of ${sql}`;
});
const exportCsv = reportingDb(async function exportCsv(table: string) {
  running++;
  peak = Math.max(peak, running);
  await sleep(30);
  running--;
  return `${table}.csv`;
});

// 1. Five calls at once, across two functions: 2 run, 2 wait, 1 is rejected.
const started = performance.now();
const settled = Promise.allSettled([runQuery('q1'), runQuery('q2'), exportCsv('orders'), runQuery('q4'), exportCsv('users')]);
await sleep(5);
assert.equal(reportingDb.bulkhead?.executionSlots, 0); // both slots taken
assert.equal(reportingDb.bulkhead?.queueSlots, 0); // both queue places taken
const results = await settled;
const elapsed = performance.now() - started;

assert.deepEqual(
  results.map((r) => r.status),
  ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected'],
);
const rejected = results[4]?.status === 'rejected' ? (results[4].reason as unknown) : undefined;
assert.ok(isBulkheadFullError(rejected));
assert.deepEqual([rejected.code, rejected.maxConcurrent, rejected.maxQueue], ['E_BULKHEAD_FULL', 2, 2]);
assert.equal(peak, 2);
assert.ok(elapsed >= 55, `${elapsed} ms`); // the queued two waited for the first two (2 x 30 ms)
assert.equal(events.filter((t) => t === EventType.BULKHEAD_REJECTED).length, 1);
console.log(`5 calls at once: peak concurrency ${peak}, 2 queued, 1 rejected: "${rejected.message}"`);
console.log(`all done in ${Math.round(elapsed)} ms (two rounds of 30 ms); slots free again: ${reportingDb.bulkhead?.executionSlots}`);

// 2. maxWait: a queued call that gets no slot in time is rejected, even though it had a queue place.
const render = resilient({ bulkhead: { maxConcurrent: 1, maxQueue: 5, maxWait: 20 } })(async function render(page: number) {
  await sleep(page === 1 ? 80 : 1);
  return `page ${page}`;
});
const long = render(1); // takes the only slot for 80 ms
const waiting = render(2).catch((error: unknown) => error); // queued, but only for 20 ms
const gaveUp = await waiting;
assert.ok(isBulkheadFullError(gaveUp));
assert.match(gaveUp.message, /no slot within maxWait/);
assert.equal(await long, 'page 1');
console.log(`maxWait 20 ms: render(2) gave up waiting -> "${gaveUp.message}"`);
