// 9. Process-wide cost: what every other `await` in the user's process pays once a kind of resilient()
// call has run. Node 20 turns promise hooks on for the whole process, for good, at the first
// AsyncLocalStorage.run() (or async_hooks hook): from then on every promise of every library is
// bigger and slower. Each sample is a fresh child process (processCostChild.ts): it times an unrelated
// `await fn()` and an awaited Map memo hit, runs one kind of call, and times them again. A row is
// after / before of the await (1.0: no cost); the reference row runs one AsyncLocalStorage.run()
// instead, which is what every miss and attempt did before this package dropped it.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleave, rowOf } from '../harness/interleave';
import type { Sampled } from '../harness/interleave';
import { median } from '../harness/stats';
import { bound } from '../harness/targets';
import type { Metric, Row, Scenario } from '../harness/types';
import type { ProcessCostReport } from './processCostChild';
import { KINDS } from './processCostKinds';

const metric: Metric = { unit: '× (await after / before)', higherIsBetter: false };
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'processCostChild.ts');
const CHILD_TIMEOUT_MS = 60_000;
const REFERENCE = 'reference: one AsyncLocalStorage.run()';

const sizes = (quick: boolean) => (quick ? { rounds: 1, iterations: 20_000, batches: 12 } : { rounds: 3, iterations: 20_000, batches: 30 });
/** --quick: children running at once (one per core of a 2-core machine; more make the timings noise). */
const QUICK_PARALLEL = 2;

/**
 * With --quick: these kinds only (no call at all, the reference, a miss, a retry and the full pipeline),
 * two children at a time. Each row is a ratio within one child, so sharing the machine adds noise to it,
 * not a bias; the full run has every kind, one child at a time.
 */
const QUICK_KINDS: readonly string[] = [KINDS[0], KINDS[1], KINDS[3], KINDS[9], KINDS[10]];

function runChild(kind: string, iterations: number, batches: number): Promise<ProcessCostReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD, kind, String(iterations), String(batches)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
        reject(new Error(`process-cost child "${kind}" failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line) as ProcessCostReport);
    });
  });
}

const ns = (value: number) => value.toFixed(0);

export const processCost: Scenario = {
  id: 'process-cost',
  async run({ quick, log }) {
    const { rounds, iterations, batches } = sizes(quick);
    const kinds: readonly string[] = quick ? QUICK_KINDS : KINDS;
    const reports = kinds.map((): ProcessCostReport[] => []);
    const started = performance.now();
    // Children run one at a time: they time code, and two of them would share the cores. (--quick: two at a time.)
    let early: Array<Promise<ProcessCostReport>> | undefined;
    if (quick) {
      early = [];
      for (const [i, kind] of kinds.entries()) {
        const before = early[i - QUICK_PARALLEL];
        early.push(before === undefined ? runChild(kind, iterations, batches) : before.then(() => runChild(kind, iterations, batches), () => runChild(kind, iterations, batches)));
      }
    }
    for (const report of early ?? []) report.catch(() => undefined); // awaited (and thrown) by its sample()
    const summaries = await interleave(
      kinds.map(
        (kind, i): Sampled => ({
          name: kind,
          ours: kind.startsWith('resilient('),
          async sample() {
            const report = await (early?.[i] ?? runChild(kind, iterations, batches));
            reports[i]!.push(report);
            return report.awaitNs.after / report.awaitNs.before;
          },
        }),
      ),
      { rounds, warmupRounds: 0 },
    );
    log(`${kinds.length * rounds} child processes, ${quick ? `${QUICK_PARALLEL} at a time` : 'one at a time'}: ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const rows: Row[] = summaries.map((s, i) => {
      const own = reports[i]!;
      const med = (pick: (r: ProcessCostReport) => number) => median(own.map(pick));
      return {
        ...rowOf(s),
        extra: {
          'await ns before': ns(med((r) => r.awaitNs.before)),
          'await ns after': ns(med((r) => r.awaitNs.after)),
          'memo hit after / before': `${med((r) => r.memoNs.after / r.memoNs.before).toFixed(2)}×`,
          'promise own symbols after': Math.max(...own.map((r) => r.promiseSymbols)),
        },
      };
    });
    const ours = rows.filter((r) => r.ours === true);
    const worst = ours.reduce((a, b) => (b.median > a.median ? b : a));
    const worstMemo = Math.max(...ours.map((r) => parseFloat(String(r.extra?.['memo hit after / before']))));
    const symbols = Math.max(...ours.map((r) => Number(r.extra?.['promise own symbols after'])));
    return {
      id: 'process-cost',
      title: '9. Process-wide cost',
      workload:
        `An unrelated \`await fn()\` (fn = async (n) => n + 1) and an awaited Map memo hit, timed in a fresh child process (the fastest of ${batches} batches of ${iterations.toLocaleString('en')} calls: other processes on the machine only ever add time) ` +
        'before and after one kind of resilient() call ran a few times in it. A row is after / before for the await: 1.0× means the call left the process as fast as it found it.',
      metric,
      rows,
      columns: ['await ns before', 'await ns after', 'memo hit after / before', 'promise own symbols after'],
      targets: [
        bound('after every kind of call, an unrelated await costs ≤ 1.1× what it did before', worst.median, 1.1, 'max', `worst ${worst.median.toFixed(2)}× (${worst.name})`),
        bound('after every kind of call, a Map memo hit costs ≤ 1.1× what it did before', worstMemo, 1.1, 'max', `worst ${worstMemo.toFixed(2)}×`),
        {
          target: 'a promise made after any kind of call has no own (async-hook) symbols',
          met: symbols === 0,
          measured: symbols === 0 ? 'none after any kind' : `up to ${symbols} after ${ours.filter((r) => Number(r.extra?.['promise own symbols after']) > 0).length} of ${ours.length} kinds`,
        },
      ],
      notes: [
        'One fresh child process per row and round (node --expose-gc --import tsx, garbage collected before every batch): promise hooks, once on, stay on for the process, so no two kinds can share one.',
        `${REFERENCE}: the same child running a single AsyncLocalStorage.run() instead of a call. Before @toolkit/core dropped AsyncLocalStorage, every miss, attempt, retry, timeout and breaker call did this (hits did not).`,
        'Node 20 tags every promise with async_id_symbol, trigger_async_id_symbol and kResourceStore while promise hooks are on: the last column counts them on a promise made after the call.',
        `The none row is the noise floor: the same measurement twice with nothing in between. ${rounds} round${rounds > 1 ? 's' : ''}; ` +
          (quick ? `quick run: ${kinds.length} of the ${KINDS.length} kinds, ${QUICK_PARALLEL} children at a time.` : 'children run one at a time.'),
      ],
    };
  },
};
