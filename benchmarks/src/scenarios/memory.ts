// 5. Memory: heap bytes per cached entry, every library holding the same 100,000 entries (maxSize
// 200,000, so nothing is evicted; TTL 1 h; --quick: 6,250 in 12,500, target rows only). Each sample is a child process
// of its own (`node --expose-gc --import tsx memoryChild.ts`), so libraries never share a heap: it makes
// the values first, builds the memoizer, reads heapUsed (+ ArrayBuffers) after gc, awaits one call per
// id and reads again after gc; the values are in both readings and are not charged. Bytes per entry =
// growth / entries: what the entries add to a built, empty memoizer (see memoryChild.ts for why the
// empty memoizer's own footprint is left out, and the notes for lru-cache's slots allocated up front).
// A second call per id (all hits) and a third reading show what a library keeps once an entry is read.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleave, rowOf } from '../harness/interleave';
import type { Sampled } from '../harness/interleave';
import { median } from '../harness/stats';
import { atLeast, bound } from '../harness/targets';
import type { Metric, Row, Scenario, TargetResult } from '../harness/types';
import { HAND_PROMISES } from '../peers/handPromises';
import { memoizers, PEER } from '../peers/memoizers';
import type { ChildReport, Reading } from './memoryChild';

const metric: Metric = { unit: 'bytes/entry', higherIsBetter: false };
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'memoryChild.ts');
/** The calibration sample: the same child inserting nothing (memoryChild's `NONE`). */
const NONE = 'NONE';
const CALIBRATION = 'calibration: nothing inserted';
const CHILD_TIMEOUT_MS = 120_000;

/**
 * Full: 100,000 entries in a maxSize of 200,000, 3 rounds. Quick: 6,250 in 12,500, 1 round. Maps and
 * other hash tables double their capacity, so 6,250 fills them exactly as much as 100,000 does (both
 * 76% of a power of two) and the per-entry figures stay comparable.
 */
const sizes = (quick: boolean) => (quick ? { count: 6_250, maxSize: 12_500, rounds: 1 } : { count: 100_000, maxSize: 200_000, rounds: 3 });

/** With --quick, only the rows the targets compare get a child (and the calibration), all at once. */
const QUICK_ROWS: readonly string[] = [PEER.oursResilient, PEER.oursCached, PEER.quickLru, PEER.bentocache];

/** Runs one child and parses its report. */
function runChild(name: string, count: number, maxSize: number): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      // No bytecode flushing: code compiled before the first reading must not be dropped before the last.
      ['--expose-gc', '--no-flush-bytecode', '--import', 'tsx', CHILD, name, String(count), String(maxSize)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`memory child for "${name}" failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line) as ChildReport);
    });
  });
}

/** At most `limit` jobs at a time, started in the order they are given. */
function limiter(limit: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (job) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await job();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

const perEntry = (bytes: number, count: number) => bytes / count;
const total = (r: Reading) => r.heapUsed + r.arrayBuffers;
const bytes = (value: number) => value.toFixed(1);

/** 5. Memory: bytes per entry of every memoizer holding the same entries, one child process per sample. */
export const memory: Scenario = {
  id: 'memory',
  async run({ quick, log }) {
    const { count, maxSize, rounds } = sizes(quick);
    // Names, ours-flags and notes of the contenders (built small here, then released).
    const described = memoizers(async (id: number) => ({ id }), { maxSize: 10, ttlMs: 3_600_000 });
    for (const m of described) await m.close?.();
    const contenders = [
      ...described.filter((m) => !quick || QUICK_ROWS.includes(m.name)).map((m) => ({ name: m.name, ours: m.ours === true, child: m.name })),
      { name: HAND_PROMISES, ours: false, child: HAND_PROMISES },
      { name: CALIBRATION, ours: false, child: NONE },
    ];

    // A heap read after gc in a process of its own does not depend on what else runs on the machine,
    // so children run a few at a time; they are started in interleave()'s order (round r starting at
    // contender r) and each sample() takes its contender's next result.
    // --quick starts every child at once: it is about how long the run takes, not the heaps, which do not care.
    const parallel = quick ? contenders.length : Math.max(1, Math.min(4, os.availableParallelism()));
    const limit = limiter(parallel);
    const pending = contenders.map((): Array<Promise<ChildReport>> => []);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < contenders.length; k++) {
        const index = (round + k) % contenders.length;
        const report = limit(() => runChild(contenders[index]!.child, count, maxSize));
        report.catch(() => undefined); // awaited (and thrown) by its sample(); never an unhandled rejection
        pending[index]!.push(report);
      }
    }
    const reports = contenders.map((): ChildReport[] => []);
    const started = performance.now();
    const summaries = await interleave(
      contenders.map(
        (c, i): Sampled => ({
          name: c.name,
          ours: c.ours,
          async sample() {
            const report = await pending[i]!.shift()!;
            reports[i]!.push(report);
            return perEntry(total(report.filled), report.count);
          },
        }),
      ),
      { rounds, warmupRounds: 0 },
    );
    log(`${contenders.length * rounds} child processes (${parallel} at a time), ${count.toLocaleString('en')} entries each: ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const missed: string[] = [];
    const rows: Row[] = summaries.map((s, i) => {
      const own = reports[i]!;
      const med = (pick: (r: ChildReport) => number) => bytes(median(own.map((r) => perEntry(pick(r), r.count))));
      const lost = own.reduce((sum, r) => sum + r.missed, 0);
      if (lost > 0) missed.push(`${s.name}: ${lost} of ${own.length * count} calls of the second pass ran the loader (entries not kept)`);
      return {
        ...rowOf(s),
        extra: {
          'heapUsed Δ': med((r) => r.filled.heapUsed),
          'used_heap_size Δ': med((r) => r.filled.usedHeapSize),
          'ArrayBuffers Δ': med((r) => r.filled.arrayBuffers),
          'after 1 hit each': med((r) => total(r.hit)),
        },
      };
    });
    for (const line of missed) log(`not all entries kept: ${line}`);

    // lru-cache allocates its slot arrays (keys, values, links, TTL starts and TTLs) for `max` when built:
    // left out above, since the figures count from the built memoizer. The calibration child measures it.
    const lru = reports[contenders.length - 1]!.map((r) => r.lruPreallocated).filter((r) => r !== undefined);
    const lruBytes = lru.length > 0 ? median(lru.map(total)) : NaN;
    const lruNote =
      `Not in the figures: lru-cache allocates its slots for max up front: ${(lruBytes / 2 ** 20).toFixed(1)} MiB for max ${maxSize.toLocaleString('en')} with a TTL ` +
      `(${bytes(lruBytes / maxSize)} bytes per slot, ${bytes(lruBytes / count)} per entry at this fill), in lru-cache get/set and fetch, and in bentocache's and cachified's stores ` +
      '(those two get their TTL arrays on their first set with a TTL, so that part of it is counted).';
    const O = PEER.oursResilient;
    // The same comparison on the third reading (after one hit per entry), from the children's reports.
    const afterHit = (ours: string, peer: string, target: string): TargetResult => {
      const at = (name: string) => {
        const i = contenders.findIndex((c) => c.name === name);
        return median(reports[i]!.map((r) => perEntry(total(r.hit), r.count)));
      };
      const [a, b] = [at(ours), at(peer)];
      return bound(target, a, b, 'max', `${bytes(a)} vs ${bytes(b)} bytes/entry after one hit each (${(b / a).toFixed(2)}×)`);
    };
    const shown = quick
      ? `${count.toLocaleString('en')} entries (quick run: only the rows the targets compare; the full run uses 100,000 and every library)`
      : `${count.toLocaleString('en')} entries`;
    return {
      id: 'memory',
      title: '5. Memory',
      workload:
        `Bytes per entry with ${shown}, maxSize ${maxSize.toLocaleString('en')} (nothing evicted), TTL 1 h: one child process per library and sample, ` +
        'one awaited call per id of the same user objects (made before the first reading, so not charged); heap read after gc with the memoizer built and empty, and again after the last call.',
      metric,
      rows,
      columns: ['heapUsed Δ', 'used_heap_size Δ', 'ArrayBuffers Δ', 'after 1 hit each'],
      targets: [
        ...[O, PEER.oursCached].flatMap((ours) => [
          atLeast(rows, metric, ours, HAND_PROMISES, 1, `${ours} ≤ ${HAND_PROMISES} (same values)`),
          afterHit(ours, HAND_PROMISES, `${ours} ≤ ${HAND_PROMISES}, after one hit per entry`),
        ]),
        atLeast(rows, metric, O, PEER.quickLru, 1 / 1.2, '≤ 1.2 × quick-lru get/set storing the same values'),
        atLeast(rows, metric, O, PEER.bentocache, 1, 'below bentocache (memory)'),
      ],
      notes: [
        'Bytes per entry = growth of heapUsed + ArrayBuffers between two readings after gc, the memoizer built (empty) at the first and holding every entry at the second, / entries. ' +
          'The next columns split it: heapUsed, V8 used_heap_size (the same heap through v8.getHeapStatistics), ArrayBuffer backing stores (outside the heap). ' +
          '"after 1 hit each": the same growth after a second call per id (all hits), for libraries that keep something per entry once it is read.',
        lruNote,
        'Each child makes the values first, warms the library up on a throwaway instance (2,000 calls), and runs with --no-flush-bytecode, so compiled code is in both readings; ' +
          'the second pass also checks that every entry was kept (no call may run the loader).',
        `Children run ${parallel} at a time (a heap read after gc in a process of its own does not depend on what else runs), in interleave()'s order; ${rounds} round${rounds > 1 ? 's' : ''}, no warm-up round.`,
        `${CALIBRATION}: the same child inserting nothing: what the method reports for no entries.`,
        'quick-lru with maxSize ≥ the entries holds them all in its current generation (a Map of number keys to { value, expiry } items, expiry a boxed double).',
        `${HAND_PROMISES}: a quick-lru (maxSize, maxAge) of the function's promises, keyed by the number, deleting a rejected one (this scenario only). ` +
          'The promise is what it keeps over the value; quick-lru get/set awaits and keeps the value itself, with no single-flight.',
        'Ours, with these options (a TTL, no tags, fail-safe or refresh-ahead), keep in quick-lru (no maxAge) a compact entry of 40 bytes: the value and its expiry as a small integer from an epoch (no boxed double), ' +
          'under the integer id itself (the key derived from one integer, `#<id>`, is held as the number: no key string); plus quick-lru\'s Map slot and { value, expiry } item. Nothing is added on a hit (a new resolved promise per hit, as an async function makes).',
        'bentocache serialises every value to a JSON string in its memory store: its bytes include that copy.',
        ...missed.map((line) => `Not all entries kept: ${line}.`),
        ...described.filter((m) => m.note !== undefined).map((m) => `${m.name}: ${m.note}`),
      ],
    };
  },
};
