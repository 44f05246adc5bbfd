// One sample of the process-cost scenario (scenarios/processCost.ts), in a fresh process, because Node's
// promise hooks, once on, stay on for the process:
//   node --expose-gc --import tsx processCostChild.ts <kind>
// Measures two pieces of code that have nothing to do with us (an `await fn()` of a trivial async
// function, and an awaited hit of a Map memo of promises; the fastest of many short batches), runs one
// kind of resilient() call a few times, and measures the same two pieces again. Prints one line of JSON: ns per operation before and
// after, and the own symbols of a promise made after (Node 20 tags promises while hooks are on).
import { AsyncLocalStorage } from 'node:async_hooks';
import { ResilienceRegistry } from '@toolkit/core';
import { KINDS } from './processCostKinds';
import type { Kind } from './processCostKinds';

export interface ProcessCostReport {
  readonly kind: string;
  /** ns per `await fn()` before and after the kind ran. */
  readonly awaitNs: { before: number; after: number };
  /** ns per awaited Map memo hit before and after. */
  readonly memoNs: { before: number; after: number };
  /** Own symbols of a promise made after the kind ran (none while promise hooks are off). */
  readonly promiseSymbols: number;
}

const collectGarbage = (globalThis as { gc?: () => void }).gc;

async function measure(iterations: number, batches: number): Promise<{ awaitNs: number; memoNs: number }> {
  const fn = async (n: number) => n + 1;
  const memo = new Map<number, Promise<number>>();
  const memoized = (n: number): Promise<number> => {
    let hit = memo.get(n);
    if (hit === undefined) memo.set(n, (hit = fn(n)));
    return hit;
  };
  for (let i = 0; i < 100; i++) await memoized(i);
  const awaitNs: number[] = [];
  const memoNs: number[] = [];
  for (let b = 0; b < batches; b++) {
    collectGarbage?.();
    let t = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await fn(i);
    awaitNs.push(Number(process.hrtime.bigint() - t) / iterations);
    collectGarbage?.();
    t = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await memoized(i % 100);
    memoNs.push(Number(process.hrtime.bigint() - t) / iterations);
  }
  // The fastest batch: on a shared machine other processes only ever add time, so the minimum of many
  // short batches is the cost of the code itself (a median would follow the machine's load).
  return { awaitNs: Math.min(...awaitNs), memoNs: Math.min(...memoNs) };
}

/** Runs one kind a few times (its calls settle before this resolves). */
async function exercise(kind: Kind): Promise<void> {
  const r = new ResilienceRegistry({ onListenerError: () => undefined });
  const ok = async (n: number) => n + 1;
  const failing = async (): Promise<number> => {
    throw new Error('down');
  };
  const settle = (p: Promise<unknown>) => p.catch(() => undefined);
  switch (kind) {
    case 'none (nothing runs between the two measurements)':
      return;
    case 'resilient({ cache }) miss': {
      const f = r.resilient({ cache: {} })(ok);
      for (let i = 0; i < 10; i++) await f(i);
      return;
    }
    case 'resilient({ cache }) hit': {
      const f = r.resilient({ cache: { key: (n: number) => `n${n}` } })(ok);
      await f.cache?.scope.set('n1', 2); // filled without a miss
      for (let i = 0; i < 10; i++) await f(1);
      return;
    }
    case 'resilient({ retry }) with one retry': {
      let calls = 0;
      const f = r.resilient({ retry: { maxAttempts: 2, delay: 1 } })(async (n: number) => {
        if (++calls % 2 === 1) throw new Error('flaky');
        return n;
      });
      for (let i = 0; i < 3; i++) await f(i);
      return;
    }
    case 'resilient({ timeout })': {
      const f = r.resilient({ timeout: '1s' })(ok);
      for (let i = 0; i < 10; i++) await f(i);
      return;
    }
    case 'resilient({ circuitBreaker })': {
      const f = r.resilient({ circuitBreaker: { failureThreshold: 2, halfOpenAfter: '1m' } })(failing);
      for (let i = 0; i < 4; i++) await settle(f()); // opens, then fails fast
      return;
    }
    case 'resilient({ fallback })': {
      const f = r.resilient({ fallback: 0 })(failing);
      for (let i = 0; i < 10; i++) await f();
      return;
    }
    case 'resilient({ bulkhead })': {
      const f = r.resilient({ bulkhead: { maxConcurrent: 2, maxQueue: 2 } })(ok);
      await Promise.all(Array.from({ length: 6 }, (_, i) => settle(f(i))));
      return;
    }
    case 'resilient({ rateLimiter })': {
      const f = r.resilient({ rateLimiter: { maxCalls: 5, period: '1m' } })(ok);
      for (let i = 0; i < 10; i++) await settle(f(i));
      return;
    }
    case 'resilient({ cache, retry, circuitBreaker, timeout })': {
      const f = r.resilient({
        cache: {},
        retry: { maxAttempts: 3, delay: 1 },
        circuitBreaker: { failureThreshold: 5, halfOpenAfter: '10s' },
        timeout: '1s',
      })(ok);
      for (let i = 0; i < 10; i++) await f(i % 5);
      return;
    }
    case 'reference: one AsyncLocalStorage.run()':
      new AsyncLocalStorage<number>().run(1, () => undefined);
      return;
  }
}

const kind = process.argv[2] as Kind;
if (!KINDS.includes(kind)) throw new Error(`unknown kind ${JSON.stringify(kind)}`);
const iterations = Number(process.argv[3] ?? 20_000);
const batches = Number(process.argv[4] ?? 20);
await measure(iterations, 2); // JIT warm-up of the measuring code itself
const before = await measure(iterations, batches);
await exercise(kind);
const after = await measure(iterations, batches);
const report: ProcessCostReport = {
  kind,
  awaitNs: { before: before.awaitNs, after: after.awaitNs },
  memoNs: { before: before.memoNs, after: after.memoNs },
  promiseSymbols: Object.getOwnPropertySymbols(Promise.resolve()).length,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
