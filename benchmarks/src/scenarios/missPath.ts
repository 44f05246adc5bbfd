// 2. Miss path: what a memoizer costs when it never hits. Every call asks for a key never seen
// before (the running iteration number), so each one misses, runs the cheap async function once and
// stores its result, evicting the oldest entry once the bound is reached. Reported in calls per second,
// with the bare function as a reference: the gap to it is the memoizer's price per miss.
import { resilient } from '@toolkit/core';
import { rowOf, throughput, throughputRounds } from '../harness/interleave';
import { atLeast } from '../harness/targets';
import type { Metric, Scenario } from '../harness/types';
import { memoizers, PEER } from '../peers/memoizers';

const MAX_SIZE = 1_000;
const metric: Metric = { unit: 'ops/s', higherIsBetter: true };
const REFERENCE = 'reference: the bare async fn';
const OURS_CACHE_ONLY = 'ours: resilient({ cache })';

export const missPath: Scenario = {
  id: 'miss-path',
  async run({ quick }) {
    const load = async (id: number) => ({ id, name: `user${id}` });
    const list = memoizers(load, { maxSize: MAX_SIZE, ttlMs: 3_600_000 });
    // The cache layer alone in front of the function (the other pipelines carry retry, breaker and timeout).
    const cacheOnly = resilient({ cache: { maxSize: MAX_SIZE, ttl: 3_600_000 } })(load);

    const summaries = await throughput(
      [
        ...list.map((m) => ({ name: m.name, ours: m.ours, async: true, op: (i: number) => m.call(i) })),
        { name: OURS_CACHE_ONLY, ours: true, async: true, op: (i: number) => cacheOnly(i) },
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
        atLeast(rows, metric, OURS_CACHE_ONLY, PEER.pMemoize, 1, `${OURS_CACHE_ONLY}: ≤ 1.0× p-memoize's time per miss`),
        atLeast(rows, metric, PEER.oursResilient, PEER.pMemoize, 1 / 1.5, `${PEER.oursResilient}: ≤ 1.5× p-memoize's time per miss`),
        ...[PEER.bentocache, PEER.cacheableMemory, PEER.cacheable].map((peer) => atLeast(rows, metric, O, peer, 3, `${O} ≥ 3× ${peer}`)),
      ],
      notes: [
        `Targets on three of ours: \`${O}\` (the cache wrapper alone), \`${OURS_CACHE_ONLY}\` (the same cache as a pipeline's layer) and \`${PEER.oursResilient}\` (that cache in front of retry, circuit breaker and timeout, every layer running on each miss). p-memoize is bounded with quick-lru, as its README recommends.`,
        `"${REFERENCE}": \`load(i)\` awaited with no memoizer, the ceiling for every row.`,
        `Unbounded, so they grow by one entry per call for the whole run and their numbers include that growth (map inserts, GC of a growing heap): ${unbounded
          .map((name) => `${name} (${held.get(name)?.toLocaleString('en') ?? 'n/a'} entries at the end)`)
          .join(', ')}.`,
        ...list.filter((m) => m.note !== undefined).map((m) => `${m.name}: ${m.note}`),
      ],
    };
  },
};
