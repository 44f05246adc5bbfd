// 4. Stampede: many callers asking for the same cold keys at once, with a slow backend (a 20 ms timer).
// A memoizer that deduplicates in-flight loads calls the backend once per key and answers everyone in
// about one backend round trip; one that does not calls it once per caller. Two workloads, two tables:
// (a) 1,000 callers on one key, (b) 100 keys × 100 callers, all 10,000 calls issued at once, interleaved
// across keys. Each trial uses keys never asked before, and measures the wall time until every caller
// has its answer; the backend calls of each trial are counted.
import { interleave, rowOf } from '../harness/interleave';
import type { Sampled } from '../harness/interleave';
import { median } from '../harness/stats';
import { bound } from '../harness/targets';
import type { Metric, Row, Scenario, ScenarioResult } from '../harness/types';
import { memoizers, PEER } from '../peers/memoizers';

const BACKEND_MS = 20;
/** Keys of trial t are t × KEY_SPAN + k, so that a backend call tells which trial made it. */
const KEY_SPAN = 1_000;
const metric: Metric = { unit: 'ms', higherIsBetter: false };
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Workload {
  readonly id: string;
  readonly title: string;
  readonly keys: number;
  readonly callersPerKey: number;
  /** The target on wall time, as a multiple of the backend's latency. */
  readonly wallFactor: number;
}

async function runStampede(w: Workload, quick: boolean): Promise<ScenarioResult> {
  const backendCalls = new Map<number, number>();
  const load = async (id: number) => {
    const trial = Math.floor(id / KEY_SPAN);
    backendCalls.set(trial, (backendCalls.get(trial) ?? 0) + 1);
    await sleep(BACKEND_MS);
    return { id, name: `user${id}` };
  };
  const list = memoizers(load, { maxSize: 1_000, ttlMs: 3_600_000 });
  const options = quick ? ({ rounds: 1, warmupRounds: 1, gc: 'minor' } as const) : { rounds: 10, warmupRounds: 2 };

  let nextTrial = 1;
  const measuredTrials = new Map<string, number[]>();
  const contenders = list.map((m): Sampled => {
    const trials: number[] = [];
    measuredTrials.set(m.name, trials);
    let sampled = 0;
    return {
      name: m.name,
      ours: m.ours,
      async sample() {
        const trial = nextTrial++;
        if (sampled++ >= options.warmupRounds) trials.push(trial);
        const base = trial * KEY_SPAN;
        const calls: Promise<unknown>[] = [];
        const began = process.hrtime.bigint();
        for (let c = 0; c < w.callersPerKey; c++) for (let k = 0; k < w.keys; k++) calls.push(m.call(base + k));
        await Promise.all(calls);
        return Number(process.hrtime.bigint() - began) / 1e6;
      },
    };
  });
  const summaries = await interleave(contenders, options);
  // Every contender awaited all its callers, but a library could still start a load afterwards
  // (a background refresh): wait one backend latency so that such calls are counted in their trial.
  await sleep(BACKEND_MS * 2);
  for (const m of list) await m.close?.();

  const callsOf = (name: string) => measuredTrials.get(name)!.map((t) => backendCalls.get(t) ?? 0);
  const rows: Row[] = summaries.map((s) => {
    const calls = callsOf(s.name);
    const lo = Math.min(...calls);
    const hi = Math.max(...calls);
    return {
      ...rowOf(s),
      extra: { 'backend calls': lo === hi ? `${lo}` : `${median(calls)} (${lo}–${hi})` },
    };
  });

  const O = PEER.oursResilient;
  const ours = summaries.find((s) => s.name === O)!;
  const oursCalls = callsOf(O);
  const callers = w.keys * w.callersPerKey;
  const limit = w.wallFactor * BACKEND_MS;
  const noDedupe = list.filter((m) => median(callsOf(m.name)) > w.keys).map((m) => m.name);
  return {
    id: w.id,
    title: w.title,
    workload: `${w.keys === 1 ? `${callers.toLocaleString('en')} concurrent callers on one cold key` : `${w.keys} cold keys × ${w.callersPerKey} callers, all ${callers.toLocaleString('en')} calls issued at once, interleaved across keys`}; the backend answers after a ${BACKEND_MS} ms timer. Wall time from the first call issued until every caller has its answer; backend calls per trial (median, with the range when trials differ). Each trial uses keys never asked before.`,
    metric,
    rows,
    columns: ['backend calls'],
    targets: [
      {
        target: `${O}: backend calls = ${w.keys} (one per key)`,
        met: oursCalls.every((c) => c === w.keys),
        measured: `${median(oursCalls)} per trial (${Math.min(...oursCalls)}–${Math.max(...oursCalls)} over ${oursCalls.length} trials)`,
      },
      bound(
        `${O}: wall time ≤ ${w.wallFactor} × ${BACKEND_MS} ms = ${limit} ms`,
        ours.median,
        limit,
        'max',
        `${ours.median.toFixed(1)} ms median (${ours.min.toFixed(1)}–${ours.max.toFixed(1)})`,
      ),
    ],
    notes: [
      `Rounds: ${options.rounds} measured trials per library after ${options.warmupRounds} warm-up, interleaved; every library memoizes the same load through memoizers() (bounded to 1,000 entries, TTL 1 h).`,
      `Targets are taken on \`${O}\`; \`${PEER.oursCached}\` is shown as a row.`,
      noDedupe.length > 0
        ? `Called the backend more than once per key (no deduplication of loads in flight): ${noDedupe.join(', ')}.`
        : 'Every library called the backend once per key.',
      ...list.filter((m) => m.note !== undefined).map((m) => `${m.name}: ${m.note}`),
    ],
  };
}

export const stampedeOneKey: Scenario = {
  id: 'stampede-1-key',
  run: ({ quick }) => runStampede({ id: 'stampede-1-key', title: '4a. Stampede: 1 key × 1,000 callers', keys: 1, callersPerKey: 1_000, wallFactor: 1.2 }, quick),
};

export const stampedeHundredKeys: Scenario = {
  id: 'stampede-100-keys',
  run: ({ quick }) =>
    runStampede({ id: 'stampede-100-keys', title: '4b. Stampede: 100 keys × 100 callers', keys: 100, callersPerKey: 100, wallFactor: 1.5 }, quick),
};
