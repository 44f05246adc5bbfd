/**
 * resilient() — the retry layer: attempts and backoff, the caller gets the last error itself when the
 * attempts run out, which errors are retried (`retryOn`) or never touched (`ignoreOn`), retrying on a
 * result (`retryOnResult`), a delay function, and a server's `Retry-After` hint.
 *
 * Run: pnpm build && pnpm exec tsx examples/core-retry.ts
 */
import assert from 'node:assert/strict';
import { EventType, resilient, retryAfterMs } from '@toolkit/core';
import type { EventTypeName, ResilienceEvent, ResilienceEventMap } from '@toolkit/core';

const events: ResilienceEvent[] = [];
const onEvent = (event: ResilienceEvent) => events.push(event);
/** The events of one type seen so far, typed (a RETRY event has `delayMs`). */
const ofType = <K extends EventTypeName>(type: K) => events.filter((e): e is ResilienceEventMap[K] => e.type === type);

// 1. Fails twice, then succeeds: 3 attempts, 10 ms then 20 ms apart (no jitter, to show the numbers).
let attempts = 0;
const flaky = resilient({ retry: { maxAttempts: 3, delay: 10, backoffFactor: 2, jitter: false }, onEvent })(
  async function flaky() {
    attempts++;
    if (attempts < 3) throw new Error(`glitch ${attempts}`);
    return 'ok';
  },
);
assert.equal(await flaky(), 'ok');
const retries = ofType(EventType.RETRY);
assert.deepEqual(
  retries.map((e) => [e.attempt, e.delayMs, (e.error as Error).message]),
  [
    [1, 10, 'glitch 1'],
    [2, 20, 'glitch 2'],
  ],
);
assert.equal(events.at(-1)?.type, EventType.SUCCESS);
assert.equal(events.at(-1)?.attempt, 3);
console.log(`flaky(): 'ok' on attempt 3, after retries delayed ${retries.map((e) => `${e.delayMs} ms`).join(' and ')}`);

// 2. Always fails: when the attempts run out, the caller gets the last error itself (not a wrapper).
events.length = 0;
let lastThrown: Error | undefined;
const broken = resilient({ retry: { maxAttempts: 3, delay: 1 }, onEvent })(async function broken() {
  lastThrown = new Error('still broken');
  throw lastThrown;
});
const caught = await broken().catch((error: unknown) => error);
assert.equal(caught, lastThrown);
const [exhausted] = ofType(EventType.RETRY_EXHAUSTED);
assert.equal(exhausted?.attempt, 3);
assert.equal(exhausted?.error, lastThrown);
console.log(`broken(): rejects with its own last error "${lastThrown?.message}"; RETRY_EXHAUSTED says attempt ${exhausted?.attempt}`);

// 3. retryOn: only these errors are retried. ignoreOn: never retried, and rethrown as they are.
class NetworkError extends Error {}
class ValidationError extends Error {}
let sent = 0;
const send = resilient({
  retry: { maxAttempts: 3, delay: 1, retryOn: [NetworkError], ignoreOn: [ValidationError] },
})(async (body: string) => {
  sent++;
  if (body === '') throw new ValidationError('empty body');
  if (body === 'bad') throw new TypeError('not retried: not a NetworkError');
  throw new NetworkError('connection reset');
});
await assert.rejects(send(''), ValidationError);
assert.equal(sent, 1);
await assert.rejects(send('bad'), TypeError);
assert.equal(sent, 2);
await assert.rejects(send('hello'), NetworkError);
assert.equal(sent, 5);
console.log('retryOn / ignoreOn: ValidationError ran once, TypeError once, NetworkError 3 times');

// 4. retryOnResult: retry while the result says so; when attempts run out, the last result is returned.
let polls = 0;
const poll = resilient({
  retry: { maxAttempts: 4, delay: 1, retryOnResult: (job: { status: string }) => job.status === 'pending' },
})(async () => {
  polls++;
  return { status: polls < 3 ? 'pending' : 'done', polls };
});
assert.deepEqual(await poll(), { status: 'done', polls: 3 });
polls = -10; // now it stays pending for longer than 4 attempts
assert.deepEqual(await poll(), { status: 'pending', polls: -6 });
console.log('retryOnResult: done on poll 3; later, still pending after 4 polls: that last result is returned');

// 5. A delay function replaces the backoff: (attempt, error) => ms, attempt counting from 1.
const asked: number[] = [];
const delay = (attempt: number) => {
  asked.push(attempt);
  return attempt * 2;
};
const linear = resilient({ retry: { maxAttempts: 4, delay } })(async () => {
  throw new Error('nope');
});
await assert.rejects(linear(), /nope/);
assert.deepEqual(asked, [1, 2, 3]);
console.log(`delay function: asked for attempts ${asked.join(', ')} (4 attempts, 3 waits)`);

// 6. Retry-After: a hint on the error wins over the backoff, and over maxDelay.
events.length = 0;
let tries = 0;
const started = performance.now();
const rateLimitedApi = resilient({ retry: { maxAttempts: 2, delay: 1, maxDelay: 5 }, onEvent })(async () => {
  tries++;
  if (tries === 1) throw Object.assign(new Error('HTTP 429'), { status: 429, headers: { 'retry-after': '0.06' } });
  return 'served';
});
assert.equal(await rateLimitedApi(), 'served');
const waited = performance.now() - started;
const [hinted] = ofType(EventType.RETRY);
assert.equal(hinted?.delayMs, 60);
assert.ok(waited >= 55, `waited ${waited} ms`);
console.log(`Retry-After: 0.06 s -> the retry waited ${hinted?.delayMs} ms (maxDelay is 5 ms)`);

// retryAfterMs() is the reader behind it: `retryAfter` in ms, or a Retry-After header in seconds or as a date.
assert.equal(retryAfterMs({ retryAfter: 250 }), 250);
assert.equal(retryAfterMs({ response: { headers: new Headers({ 'Retry-After': '2' }) } }), 2000);
assert.equal(retryAfterMs({ headers: { 'retry-after': new Date(10_000).toUTCString() } }, 4_000), 6000);
assert.equal(retryAfterMs(new Error('no hint')), undefined);
console.log('retryAfterMs(): 250 ms field, "2" seconds header, HTTP date -> 250, 2000, 6000');
