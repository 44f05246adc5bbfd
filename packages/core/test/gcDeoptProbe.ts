// Run by gcDeopt.test.ts in a child process (`node --expose-gc --trace-deopt --import tsx
// gcDeoptProbe.ts <kind>`): calls through the pipelines of one kind (untimed: no timeout anywhere, so no
// timed attempt holds a call; timed: with timeouts; timeoutPolicy: timed attempts without any call), with a full garbage collection between rounds,
// between two markers. V8 prints "reason: weak objects" when a GC drops a hidden class that optimized
// code depends on, and throws that code away; between the markers only these calls and GCs run.
import { ResilienceRegistry, timeoutPolicy } from '../src/index';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

const registry = new ResilienceRegistry();
const load = async (id: number) => ({ id });
const policy = timeoutPolicy('1s');
const kinds = {
  untimed: [registry.resilient({ retry: { maxAttempts: 3 } })(load), registry.resilient({ circuitBreaker: {}, cache: { maxSize: 100 } })(load)],
  timed: [
    registry.resilient({ retry: { maxAttempts: 3 }, circuitBreaker: {}, timeout: '1s' })(load),
    registry.resilient({ cache: { maxSize: 100 }, retry: { maxAttempts: 3 }, circuitBreaker: {}, timeout: '1s' })(load),
  ],
  timeoutPolicy: [(id: number) => policy.execute(() => load(id))],
};
const pipelines = kinds[process.argv[2] as keyof typeof kinds];
if (pipelines === undefined) throw new Error(`kind: ${Object.keys(kinds).join(' or ')}`);

async function rounds(count: number): Promise<void> {
  let id = 0;
  for (let round = 0; round < count; round++) {
    for (const call of pipelines) for (let i = 0; i < 5_000; i++) await call(id++);
    gc?.();
  }
}

await rounds(4); // warm up: everything optimized once
console.log('--- measuring ---');
await rounds(6);
console.log('--- done ---');
