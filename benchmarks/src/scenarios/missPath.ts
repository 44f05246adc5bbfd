// 2. Miss path: what a memoizer costs when it never hits. Every call asks for a key never seen
// before (the running iteration number), so each one misses, runs the cheap async function once and
// stores its result, evicting the oldest entry once the bound is reached. Reported in calls per second,
// with the bare function as a reference: the gap to it is the memoizer's price per miss.
import { rowOf, throughput, throughputRounds } from '../harness/interleave';
import { atLeast } from '../harness/targets';
import type { Metric, Scenario } from '../harness/types';
import { memoizers, PEER } from '../peers/memoizers';

const MAX_SIZE = 1_000;
const metric: Metric = { unit: 'ops/s', higherIsBetter: true };
const REFERENCE = 'reference: the bare async fn';

export const missPath: Scenario = {
  id: 'miss-path',
  async run({ quick }) {
    const load = async (id: number) => ({ id, name: `user${id}` });
    const list = memoizers(load, { maxSize: MAX_SIZE, ttlMs: 3_600_000 });

    const summaries = await throughput(
      [
        ...list.map((m) => ({ name: m.name, ours: m.ours, async: true, op: (i: number) => m.call(i) })),
        { name: REFERENCE, async: true, op: (i: number) => load(i) },
      ],
      throughputRounds(quick),
    );
    const held = new Map(list.map((m) => [m.name, m.entries?.()]));
    for (const m of list) await m.close?.();
    const rows = summaries.map(rowOf);
    const O = PEER.oursCached;
    const unbounded = [PEER.mapJson, PEER.mapPrefix, PEER.cacheable, PEER.cacheManager];
    return {
      id: 'miss-path',
      title: '2. Miss path',
      workload: `Every call asks for a new key (the iteration number), so every call misses and runs \`async (id) => ({ id, name })\` once; bounded caches hold ${MAX_SIZE.toLocaleString('en')} entries (TTL 1 h) and evict on every call once full. Each call is awaited before the next.`,
      metric,
      rows,
      targets: [
        atLeast(rows, metric, O, PEER.pMemoize, 1, `${O} at least as fast as p-memoize`),
        ...[PEER.bentocache, PEER.cacheableMemory, PEER.cacheable].map((peer) => atLeast(rows, metric, O, peer, 3, `${O} ≥ 3× ${peer}`)),
      ],
      notes: [
        `Targets are taken on \`${O}\`, the cache wrapper the issue's miss-path target is about; \`${PEER.oursResilient}\` (the same cache behind retry, circuit breaker and timeout) is shown as a row.`,
        `"${REFERENCE}": \`load(i)\` awaited with no memoizer, the ceiling for every row.`,
        `Unbounded, so they grow by one entry per call for the whole run and their numbers include that growth (map inserts, GC of a growing heap): ${unbounded
          .map((name) => `${name} (${held.get(name)?.toLocaleString('en') ?? 'n/a'} entries at the end)`)
          .join(', ')}.`,
        ...list.filter((m) => m.note !== undefined).map((m) => `${m.name}: ${m.note}`),
      ],
    };
  },
};
