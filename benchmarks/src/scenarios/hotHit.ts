import { countAllocations } from '../harness/allocations';
import { rowOf, throughput, throughputRounds } from '../harness/interleave';
import { atLeast, bound } from '../harness/targets';
import type { Metric, Scenario } from '../harness/types';
import { memoizers, PEER } from '../peers/memoizers';

const KEYS = 1_000;
const metric: Metric = { unit: 'ops/s', higherIsBetter: true };
const user = (id: number) => ({ id, name: `user${id}`, email: `user${id}@example.com` });

/**
 * 1. Hot hit: 1,000 warm keys read round and round, one caller awaiting each call. Ours goes through the
 * full resilient({ cache, retry, circuitBreaker, timeout }) wrapper.
 */
export const hotHit: Scenario = {
  id: 'hot-hit',
  async run({ quick, log }) {
    const load = async (id: number) => user(id);
    const list = memoizers(load, { maxSize: KEYS, ttlMs: 3_600_000 });
    for (const m of list) for (let id = 0; id < KEYS; id++) await m.call(id);

    const ours = list.find((m) => m.name === PEER.oursResilient)!;
    const hits = async (n: number) => {
      for (let i = 0; i < n; i++) await ours.call(i % KEYS);
    };
    const allocations = await countAllocations(() => hits(10_000), () => hits(10));
    log(`10,000 hits through the full wrapper: ${allocations.abortControllers} AbortControllers, ${allocations.timers} timers`);

    const summaries = await throughput(
      list.map((m) => ({ name: m.name, ours: m.ours, async: true, op: (i: number) => m.call(i % KEYS) })),
      throughputRounds(quick),
    );
    for (const m of list) await m.close?.();
    const rows = summaries.map(rowOf);
    const O = PEER.oursResilient;
    return {
      id: 'hot-hit',
      title: '1. Hot hit',
      workload: `${KEYS.toLocaleString('en')} warm keys, each call awaited before the next. Ours is the full \`resilient({ cache, retry, circuitBreaker, timeout })\` wrapper; peers memoize the same async function.`,
      metric,
      rows,
      targets: [
        atLeast(rows, metric, O, PEER.mapJson, 1, 'at least as fast as Map + JSON.stringify(args)'),
        atLeast(rows, metric, O, PEER.mapPrefix, 1 / 1.3, `a hit costs ≤ 1.3× one of ${PEER.mapPrefix}`),
        atLeast(rows, metric, O, PEER.pMemoize, 2, '≥ 2× p-memoize'),
        ...[PEER.bentocache, PEER.cacheableMemory, PEER.cacheable, PEER.cacheManager, PEER.cachified].map((peer) =>
          atLeast(rows, metric, O, peer, 10, `≥ 10× ${peer}`),
        ),
        bound(
          'no AbortController, timer or event object on a hit without listeners',
          allocations.abortControllers + allocations.timers,
          0,
          'max',
          `${allocations.abortControllers} AbortControllers and ${allocations.timers} timers over 10,000 hits (events: none are built without a listener, by design)`,
        ),
      ],
      notes: list.filter((m) => m.note !== undefined).map((m) => `${m.name}: ${m.note}`),
    };
  },
};
