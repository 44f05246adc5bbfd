import { Cache } from '@toolkit/cache';
import type { Isolation } from '@toolkit/cache';
import { rowOf, throughput, throughputRounds } from '../harness/interleave';
import { atLeast } from '../harness/targets';
import type { Metric, Scenario } from '../harness/types';

const KEYS = 1_000;
const metric: Metric = { unit: 'ops/s', higherIsBetter: true };

/** A cart of 10 lines (about 1 KB as JSON): the kind of object a caller may be tempted to mutate. */
const cart = (id: number) => ({
  id,
  owner: { id: id % 97, name: `customer ${id}` },
  lines: Array.from({ length: 10 }, (_, n) => ({ sku: `sku-${id}-${n}`, qty: n + 1, price: 9.99 + n })),
});

const NAMES: Record<Isolation, string> = {
  none: "isolation: 'none' (default)",
  freeze: "isolation: 'freeze'",
  clone: "isolation: 'clone'",
};

/**
 * What `isolation` costs on a hot hit: the same 1,000 warm carts read through `scope.getOrSet` with
 * each setting. `'freeze'` works once, when a value is stored; `'clone'` copies at every read.
 */
export const isolation: Scenario = {
  id: 'isolation',
  async run({ quick }) {
    const contenders = (['none', 'freeze', 'clone'] as const).map((mode) => {
      const scope = new Cache({ maxSize: KEYS, ttl: '1h' }).scope<ReturnType<typeof cart>>(mode, { isolation: mode });
      const loaders = Array.from({ length: KEYS }, (_, id) => async () => cart(id));
      return { mode, scope, loaders };
    });
    for (const { scope, loaders } of contenders) for (let id = 0; id < KEYS; id++) await scope.getOrSet(`cart:${id}`, loaders[id]!);
    const keys = Array.from({ length: KEYS }, (_, id) => `cart:${id}`);

    const summaries = await throughput(
      contenders.map(({ mode, scope, loaders }) => ({
        name: NAMES[mode],
        ours: true,
        async: true,
        op: (i: number) => scope.getOrSet(keys[i % KEYS]!, loaders[i % KEYS]!),
      })),
      throughputRounds(quick),
    );
    const rows = summaries.map(rowOf);
    return {
      id: 'isolation',
      title: '10. Isolation of cached values',
      workload: `${KEYS.toLocaleString('en')} warm carts (10 lines, about 1 KB as JSON) read with \`scope.getOrSet\`, each call awaited, under each \`isolation\` setting.`,
      metric,
      rows,
      targets: [atLeast(rows, metric, NAMES.freeze, NAMES.none, 0.9, "'freeze' costs a hit nothing measurable (≥ 0.9× 'none')")],
      notes: ["'clone' runs structuredClone on every read: its cost grows with the value's size, unlike the others."],
    };
  },
};
