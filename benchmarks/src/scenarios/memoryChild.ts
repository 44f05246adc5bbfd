// One sample of the memory scenario (scenarios/memory.ts), in a process of its own so that no two
// libraries share a heap:
//   node --expose-gc --no-flush-bytecode --import tsx memoryChild.ts <memoizer name | NONE> <count> <maxSize>
// Creates `count` user objects first (kept alive throughout, so their own bytes are in both readings and
// cancel out), warms the library's code up on a throwaway instance, builds the memoizer, reads the heap
// after gc, awaits one call for each id 0..count-1, and reads it again after gc; then calls every id once
// more (all should hit) and reads it a third time. Prints one line of JSON with the byte deltas. `NONE`
// builds the memoizers and inserts nothing: what the method reports for no entries at all (a
// calibration); it also reports what an empty lru-cache of `max: maxSize` allocates.
//
// The memoizer is built before the first reading: peers/memoizers.ts builds every library in one
// function, whose closures share one context, so one library's built-but-empty footprint cannot be told
// apart from the others'. The figures are therefore what the entries add to a built memoizer.
import v8 from 'node:v8';
import { LRUCache } from 'lru-cache';
import { HAND_PROMISES, handPromises } from '../peers/handPromises';
import { memoizers } from '../peers/memoizers';
import type { Memoizer } from '../peers/memoizers';

/** The calibration's name (scenarios/memory.ts passes it). */
const NONE = 'NONE';
const TTL_MS = 3_600_000;
const WARMUP_CALLS = 2_000;

export interface Reading {
  readonly heapUsed: number;
  readonly usedHeapSize: number;
  readonly arrayBuffers: number;
}

export interface ChildReport {
  readonly name: string;
  readonly count: number;
  /** Growth from the built, empty memoizer to the same memoizer holding `count` entries. */
  readonly filled: Reading;
  /** NONE only: what `new LRUCache({ max: maxSize, ttl })` allocates before holding anything. */
  readonly lruPreallocated?: Reading;
  /** Growth from the built, empty memoizer to the same memoizer after one more call per id (all hits). */
  readonly hit: Reading;
  /** Calls of that second pass that ran the loader: entries that were not kept. */
  readonly missed: number;
}

const collect = (globalThis as { gc?: () => void }).gc;
if (collect === undefined) throw new Error('memoryChild needs --expose-gc');
const gc = collect;

function read(): Reading {
  const usage = process.memoryUsage();
  return { heapUsed: usage.heapUsed, usedHeapSize: v8.getHeapStatistics().used_heap_size, arrayBuffers: usage.arrayBuffers };
}

const minus = (a: Reading, b: Reading): Reading => ({
  heapUsed: a.heapUsed - b.heapUsed,
  usedHeapSize: a.usedHeapSize - b.usedHeapSize,
  arrayBuffers: a.arrayBuffers - b.arrayBuffers,
});

/** Lets pending callbacks (a flight's settle, a library's own bookkeeping) run, then collects all garbage. */
async function settle(): Promise<Reading> {
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
  return read();
}

/**
 * Builds every memoizer, keeps the one named `name` (none for NONE) and closes the others. The memory
 * scenario's own contender (peers/handPromises.ts) is built alone.
 */
async function build(name: string, load: (id: number) => Promise<object>, maxSize: number): Promise<Memoizer<object> | undefined> {
  if (name === HAND_PROMISES) return handPromises(load, { maxSize, ttlMs: TTL_MS });
  const list = memoizers(load, { maxSize, ttlMs: TTL_MS });
  const chosen = list.find((m) => m.name === name);
  if (chosen === undefined && name !== NONE) throw new Error(`no memoizer named "${name}" (names: ${list.map((m) => m.name).join(', ')})`);
  for (const m of list) if (m !== chosen) await m.close?.();
  return chosen;
}

/**
 * Code compiled on the first calls (bytecode, feedback, optimised code) is not a per-entry cost: a
 * throwaway instance takes them. A function of its own, so that nothing of it outlives its return.
 */
async function warmUp(name: string, load: (id: number) => Promise<object>, maxSize: number, calls: number): Promise<void> {
  const warm = await build(name, load, maxSize);
  if (warm !== undefined) for (let id = 0; id < calls; id++) await warm.call(id);
  await warm?.close?.();
}

async function main(): Promise<void> {
  const [name, countArg, maxSizeArg] = process.argv.slice(2);
  const count = Number(countArg);
  const maxSize = Number(maxSizeArg);
  if (name === undefined || !Number.isInteger(count) || count <= 0 || !Number.isInteger(maxSize) || maxSize < count) {
    throw new Error('usage: memoryChild.ts <memoizer name | NONE> <count> <maxSize ≥ count>');
  }
  // The same values for every library, made before the first reading: never charged to a memoizer.
  const values = Array.from({ length: count }, (_, id) => ({ id, name: `user${id}`, email: `user${id}@example.com` }));
  let loads = 0;
  const load = async (id: number) => {
    loads++;
    return values[id]!;
  };

  await warmUp(name, load, maxSize, Math.min(WARMUP_CALLS, count));
  const memoizer = await build(name, load, maxSize);
  // The first entry goes in before the empty reading: a library may keep its last call reachable (ours
  // keeps one, to keep its optimized code across full GCs), and the warm-up instance's last call must not
  // be released into the measured span. The readings cover the other count - 1 entries.
  await memoizer?.call(0);
  const empty = await settle();
  if (memoizer !== undefined) for (let id = 1; id < count; id++) await memoizer.call(id);
  const full = await settle();
  if (values.length !== count) throw new Error('the values must stay alive until the last reading');

  // A second pass, after the reading (so the memoizer stays referenced until then): every call should
  // hit. Some libraries keep something per entry on its first hit, so the heap is read once more.
  loads = 0;
  if (memoizer !== undefined) for (let id = 0; id < count; id++) await memoizer.call(id);
  const hit = await settle();
  let lruPreallocated: Reading | undefined;
  if (name === NONE) {
    const lru = new LRUCache<number, object>({ max: maxSize, ttl: TTL_MS });
    lruPreallocated = minus(await settle(), hit);
    if (lru.size !== 0) throw new Error('unreachable');
  }
  const report: ChildReport = { name, count: count - 1, filled: minus(full, empty), hit: minus(hit, empty), missed: loads, ...(lruPreallocated && { lruPreallocated }) };
  console.log(JSON.stringify(report));
  await memoizer?.close?.();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
