/**
 * 8. Distributed stampede: 4 child processes, each with `createCache(env)` on one private redis-server
 * (started on a free 127.0.0.1 port for the scenario, stopped at its end), hit 100 cold keys at once with
 * 50 callers per key per process (4 × 100 × 50 = 20,000 calls). The factory takes 20 ms and counts its
 * calls in each process; the parent adds them up. Factory calls and wall time, with `distributedLock: true`
 * (RedisLock: one factory run per key across the processes) and without (single-flight per process only).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorkers, wallClock } from '../harness/childWorker';
import type { ChildWorker } from '../harness/childWorker';
import { formatNumber } from '../harness/format';
import { withPrivateRedis } from '../harness/redisServer';
import { summarize } from '../harness/stats';
import { bound } from '../harness/targets';
import type { Metric, Row, Scenario, ScenarioResult } from '../harness/types';

const PROCESSES = 4;
const KEYS = 100;
const CALLERS = 50;
const FACTORY_MS = 20;
const LOCK_TIMEOUT_MS = 5_000;
const WORKER_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workers', 'redisCacheWorker.ts');

const metric: Metric = { unit: 'factory calls', higherIsBetter: false };
const WITH_LOCK = 'ours with distributed lock';
const WITHOUT_LOCK = 'ours without lock (single-flight per process only)';

interface StampedeReply {
  startedAt: number;
  endedAt: number;
  factoryCalls: number;
  perKey: Array<{ key: string; values: string[]; errors: number }>;
}

interface Trial {
  factoryCalls: number;
  wallMs: number;
  errors: number;
  /** Keys on which the 4 processes did not all answer the same value. */
  disagreements: number;
  answered: number;
}

/** One trial: every process stampedes the same fresh keys, starting together on the shared clock. */
async function trial(workers: readonly ChildWorker[], label: string, lock: boolean): Promise<Trial> {
  const keys = Array.from({ length: KEYS }, (_, k) => `${label}:product:${k}`);
  const startAt = wallClock() + 50;
  const replies = await Promise.all(
    workers.map((w) =>
      w.request<StampedeReply>({ cmd: 'stampede', keys, callers: CALLERS, factoryMs: FACTORY_MS, lock, lockTimeoutMs: LOCK_TIMEOUT_MS, startAt }, 20_000),
    ),
  );
  let errors = 0;
  let answered = 0;
  let disagreements = 0;
  keys.forEach((key, k) => {
    const values = new Set<string>();
    for (const reply of replies) {
      const slot = reply.perKey[k]!;
      if (slot.key !== key) throw new Error(`a worker answered ${slot.key} for ${key}`);
      errors += slot.errors;
      answered += CALLERS - slot.errors;
      for (const v of slot.values) values.add(v);
    }
    if (values.size > 1) disagreements++;
  });
  return {
    factoryCalls: replies.reduce((sum, r) => sum + r.factoryCalls, 0),
    wallMs: Math.max(...replies.map((r) => r.endedAt)) - Math.min(...replies.map((r) => r.startedAt)),
    errors,
    disagreements,
    answered,
  };
}

export const distributedStampede: Scenario = {
  id: 'distributed-stampede',
  async run({ quick, log }) {
    const title = '8. Distributed stampede (4 processes, Redis lock)';
    const total = PROCESSES * KEYS * CALLERS;
    const workload = `${PROCESSES} processes, each \`createCache(env)\` on one private local redis-server; ${KEYS} cold keys, ${CALLERS} concurrent \`getOrSet\` callers per key in every process, all at once (${total.toLocaleString('en')} calls); the factory takes ${FACTORY_MS} ms. Ideal: ${KEYS} factory calls with the lock, up to ${PROCESSES * KEYS} without.`;
    return withPrivateRedis<ScenarioResult>(
      async (server) => {
        let workers: ChildWorker[] = [];
        try {
          workers = await startWorkers(
            Array.from({ length: PROCESSES }, (_, n) => `stampede-${n}`),
            WORKER_FILE,
            () => ({ BENCH_REDIS_URL: server.url, BENCH_ROLE: 'stampede', BENCH_PREFIX: 'benchds' }),
          );
          const rounds = quick ? 1 : 3;
          const trials: Record<string, Trial[]> = { [WITH_LOCK]: [], [WITHOUT_LOCK]: [] };
          // A warm-up trial of each mode (not reported): tsx-compiled code paths and connections get warm.
          await trial(workers, 'warmup:lock', true);
          await trial(workers, 'warmup:nolock', false);
          for (let round = 0; round < rounds; round++) {
            const order = round % 2 === 0 ? [true, false] : [false, true];
            for (const lock of order) {
              const result = await trial(workers, `r${round}:${lock ? 'lock' : 'nolock'}`, lock);
              trials[lock ? WITH_LOCK : WITHOUT_LOCK]!.push(result);
              log(`round ${round + 1} ${lock ? 'with' : 'without'} lock: ${result.factoryCalls} factory calls, ${result.wallMs.toFixed(0)} ms, ${result.errors} errors`);
            }
          }

          const rows: Row[] = [WITH_LOCK, WITHOUT_LOCK].map((name) => {
            const list = trials[name]!;
            const calls = summarize(list.map((t) => t.factoryCalls));
            const wall = summarize(list.map((t) => t.wallMs));
            return {
              name,
              ours: true,
              ...calls,
              extra: {
                'factory calls': list.map((t) => t.factoryCalls).join(' / '),
                'wall ms': rounds === 1 ? wall.median.toFixed(0) : `${wall.median.toFixed(0)} (${wall.min.toFixed(0)}–${wall.max.toFixed(0)})`,
                'calls answered': `${formatNumber(Math.min(...list.map((t) => t.answered)))} of ${formatNumber(total)}`,
              },
            };
          });
          const locked = trials[WITH_LOCK]!;
          const unlocked = trials[WITHOUT_LOCK]!;
          const lockedCalls = locked.map((t) => t.factoryCalls);
          const lockedWorst = Math.max(...lockedCalls.map((c) => Math.abs(c - KEYS))) + KEYS;
          const failures = [...locked, ...unlocked].reduce((sum, t) => sum + t.errors, 0);
          const disagreements = locked.reduce((sum, t) => sum + t.disagreements, 0);
          return {
            id: 'distributed-stampede',
            title,
            workload,
            metric,
            rows,
            columns: ['factory calls', 'wall ms', 'calls answered'],
            targets: [
              bound(
                `with the lock, factory calls == ${KEYS} in every round`,
                lockedWorst,
                KEYS,
                'max',
                `${lockedCalls.join(' / ')} factory calls over ${rounds} round${rounds === 1 ? '' : 's'}`,
              ),
              bound(
                `without the lock, at most one factory call per key per process (≤ ${PROCESSES * KEYS})`,
                Math.max(...unlocked.map((t) => t.factoryCalls)),
                PROCESSES * KEYS,
                'max',
                `${unlocked.map((t) => t.factoryCalls).join(' / ')} factory calls`,
              ),
              bound(
                `every one of the ${formatNumber(total)} calls answered, and with the lock all ${PROCESSES} processes got the same value for each key`,
                failures + disagreements,
                0,
                'max',
                `${failures} failed calls, ${disagreements} keys on which processes disagreed`,
              ),
            ],
            notes: [
              `Each process: \`createCache({ CACHE_URL, CACHE_PREFIX, … })\` from @toolkit/cache-redis (RedisStore + RedisBackplane + RedisLock), one scope; every call is \`scope.getOrSet(key, factory, { distributedLock, lockTimeout: '${LOCK_TIMEOUT_MS / 1000}s' })\`. With the lock, the process holding a key's lock runs the factory and writes Redis; the others poll Redis with backoff (5, 10, 20 … ms) until the value appears.`,
              `Factory calls are counted in each process and added up here. Wall time: from the earliest start to the latest end of the ${PROCESSES} processes, stamped with \`performance.timeOrigin + performance.now()\`; the processes are told to start at the same instant, 50 ms after the request is sent.`,
              `Fresh key names every trial; one unreported warm-up trial of each mode first. Rounds: ${rounds} (quick 1, full 3), the order of the two modes alternating. The ${PROCESSES} processes, redis-server and this one share this machine's CPUs.`,
            ],
          } satisfies ScenarioResult;
        } finally {
          await Promise.all(workers.map((w) => w.close()));
        }
      },
      (reason) => ({
        id: 'distributed-stampede',
        title,
        workload,
        metric,
        rows: [],
        targets: [{ target: `with the lock, factory calls == ${KEYS}`, met: false, measured: `not measured: ${reason}` }],
        notes: [`Skipped: no private Redis could be started (${reason}). Install redis-server (apt-get install redis-server) or set REDIS_SERVER_BIN.`],
      }),
    );
  },
};
