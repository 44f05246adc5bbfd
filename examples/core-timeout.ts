/**
 * resilient() — the timeout layer: a timeout per attempt that aborts the attempt's `attemptSignal()`
 * (so the work really stops) and lets retry try again; `TimeoutError` when every attempt is too slow;
 * one timeout for the whole call (`perAttempt: false`); and a caller's own `AbortSignal` through
 * `withSignal()`, without changing the function's parameters.
 *
 * Run: pnpm build && pnpm exec tsx examples/core-timeout.ts
 */
import assert from 'node:assert/strict';
import { EventType, attemptSignal, currentAttempt, isTimeoutError, resilient } from '@toolkit/core';
import type { EventTypeName } from '@toolkit/core';

/** A pretend query that takes `ms` and stops early (rejecting with the abort reason) when `signal` aborts. */
function query(ms: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(`answered after ${ms} ms`), ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}

const events: EventTypeName[] = [];
const onEvent = (event: { type: EventTypeName }) => events.push(event.type);

// 1. 50 ms per attempt. The first attempt would take 300 ms: it is aborted at 50 ms, the retry is quick.
const abortedAttempts: number[] = [];
const search = resilient({ timeout: '50ms', retry: { maxAttempts: 2, delay: 1 }, onEvent })(async function search(term: string) {
  const attempt = currentAttempt()?.attempt ?? 0; // 1, then 2
  const signal = attemptSignal(); // this attempt's signal: pass it to fetch, a driver, a child process...
  signal.addEventListener('abort', () => abortedAttempts.push(attempt));
  return `${term}: ${await query(attempt === 1 ? 300 : 5, signal)}`;
});
let started = performance.now();
const found = await search('lamps');
const took = performance.now() - started;
assert.equal(found, 'lamps: answered after 5 ms');
assert.ok(took < 250, `took ${took} ms`); // far less than the 300 ms of the first attempt
assert.deepEqual(events, [EventType.TIMEOUT, EventType.RETRY, EventType.SUCCESS]);
// Attempt 1's signal aborted at the timeout. Attempt 2 returned in time: its signal stays un-aborted, so
// whatever the attempt returned (a response whose body is read later) keeps working.
assert.deepEqual(abortedAttempts, [1]);
console.log(`search(): attempt 1 aborted at 50 ms, attempt 2 answered; ${Math.round(took)} ms in all (${events.join(', ')})`);

// 2. Every attempt too slow: the caller gets a TimeoutError (our own error: code, guard, fields).
events.length = 0;
const stuck = resilient({ timeout: 20, retry: { maxAttempts: 2, delay: 1 }, onEvent })(async function stuck() {
  return query(500, attemptSignal());
});
const timedOut = await stuck().catch((error: unknown) => error);
assert.ok(isTimeoutError(timedOut));
assert.deepEqual([timedOut.code, timedOut.timeoutMs, timedOut.attempt], ['E_TIMEOUT', 20, 2]);
assert.deepEqual(events, [EventType.TIMEOUT, EventType.RETRY, EventType.TIMEOUT, EventType.RETRY_EXHAUSTED, EventType.FAILURE]);
console.log(`stuck(): ${timedOut.name}: ${timedOut.message}`);

// 3. perAttempt: false — one budget for the whole call, retries and their delays included.
let tries = 0;
const budgeted = resilient({
  timeout: { after: 60, perAttempt: false },
  retry: { maxAttempts: 10, delay: 25, backoffFactor: 1, jitter: false },
})(async () => {
  tries++;
  throw new Error('flaky');
});
started = performance.now();
const overBudget = await budgeted().catch((error: unknown) => error);
const spent = performance.now() - started;
assert.ok(isTimeoutError(overBudget));
assert.equal(overBudget.attempt, undefined); // not about one attempt
assert.ok(tries >= 2 && tries <= 4, `${tries} tries`); // 10 allowed, the 60 ms budget ran out first
assert.ok(spent < 200, `spent ${spent} ms`);
console.log(`perAttempt false: ${tries} tries in a 60 ms budget, then ${overBudget.name} after ${Math.round(spent)} ms`);

// 4. withSignal(): the caller's AbortSignal, without a signal parameter on the function.
let seenByAttempt: unknown;
const report = resilient({ timeout: '1s' })(async (id: number) => {
  const signal = attemptSignal();
  signal.addEventListener('abort', () => (seenByAttempt = signal.reason));
  return `report ${id}: ${await query(200, signal)}`;
});
const controller = new AbortController();
setTimeout(() => controller.abort(new Error('user left the page')), 20);
started = performance.now();
const cancelled = await report
  .withSignal(controller.signal)(7)
  .catch((error: unknown) => error);
assert.ok(cancelled instanceof Error);
assert.equal(cancelled.message, 'user left the page'); // rejected with the signal's reason, at once
assert.ok(performance.now() - started < 150);
assert.equal(seenByAttempt, cancelled); // the running attempt was aborted with the same reason
console.log(`withSignal(): aborted after 20 ms -> "${cancelled.message}"; the attempt's signal aborted too`);

// Outside a pipeline there is no attempt: attemptSignal() never aborts, currentAttempt() is undefined.
assert.equal(attemptSignal().aborted, false);
assert.equal(currentAttempt(), undefined);
