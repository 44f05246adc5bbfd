/**
 * A child process for multiProcess.test.ts: one Cache made by `createCache(env)`, driven over IPC.
 *
 * Started by the test with `fork(thisFile, { cwd: <repo root>, execArgv: ['--import', 'tsx'] })` and the
 * environment below; tsx resolves `@toolkit/*` to the sources through the root tsconfig's `paths`.
 *
 * - `CACHE_URL`, `CACHE_PREFIX`, `CACHE_VERSION`, `CACHE_TTL_DEFAULT`: given to `createCache` as they are.
 * - `TOOLKIT_CACHE_TEST_WORKER=1`: required (so that importing this file elsewhere runs nothing).
 * - `WORKER_NAME`: goes into every value this worker's factory produces (`<key>@<name>#<run>`), so the test
 *   can tell which process produced a value.
 *
 * Every read that may load goes through the scope `items` (full keys `items:<key>`) and one
 * factory that counts its runs per key and can be told to be slow. Once the cache is subscribed to the
 * backplane the worker sends `{ type: 'ready' }`; then it answers each `{ id, request }` with
 * `{ type: 'reply', id, ok, result | error }`.
 *
 * It never outlives its parent: it exits when the IPC channel closes, and after `MAX_LIFE_MS` in any case.
 */
import { createCache } from '../../src/index';

/** What the test may ask. Durations are in milliseconds. */
export type WorkerRequest =
  /** One `getOrSet` through the counting factory. */
  | { cmd: 'getOrSet'; key: string; factoryMs?: number; distributedLock?: boolean; lockTimeoutMs?: number; lockWaitTimeoutMs?: number }
  /** `calls` concurrent `getOrSet` of one key; answers every value and every error. */
  | { cmd: 'load'; key: string; calls: number; factoryMs?: number; distributedLock?: boolean; lockTimeoutMs?: number; lockWaitTimeoutMs?: number }
  /** `scope.get`: L1, else the L2 (filling L1); never runs the factory. */
  | { cmd: 'get'; key: string }
  /** L1 only (`getSync`): what this process holds in memory. */
  | { cmd: 'peek'; key: string }
  | { cmd: 'set'; key: string; value: string; tags?: string[] }
  | { cmd: 'delete'; key: string }
  | { cmd: 'invalidateTags'; tags: string[] }
  | { cmd: 'stats' }
  /**
   * A `getOrSet` under the distributed lock whose factory tells the parent `{ type: 'in-factory' }` and
   * then exits the process with `exitCode`: the lock is never released. No reply.
   */
  | { cmd: 'crashInFactory'; key: string; lockTimeoutMs: number; exitCode: number }
  /**
   * A `getOrSet` under the distributed lock whose factory counts its run, tells the parent
   * `{ type: 'in-factory' }` and never settles: the process holds the lock (renewing it) until it is
   * killed. No reply.
   */
  | { cmd: 'hangInFactory'; key: string; lockTimeoutMs: number }
  /** `handle.close()`, reply, then let the process end by itself (nothing else keeps it alive). */
  | { cmd: 'close' };

export interface WorkerStats {
  /** Factory runs per key, in this process. */
  runs: Record<string, number>;
  hits: number;
  misses: number;
  l2Hits: number;
  l2Errors: number;
}

export interface LoadResult {
  values: string[];
  errors: string[];
  maxLatencyMs: number;
}

export type WorkerMessage =
  | { type: 'ready'; name: string; pid: number }
  | { type: 'in-factory'; key: string }
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

/** Set by the test in the worker's environment: importing this module anywhere else does nothing. */
export const WORKER_ENV_FLAG = 'TOOLKIT_CACHE_TEST_WORKER';
/** A worker the test forgot still goes away. */
const MAX_LIFE_MS = 120_000;

function main(): void {
  const send = process.send?.bind(process);
  if (send === undefined) {
    console.error('worker.ts must be started with child_process.fork (it talks over IPC)');
    process.exit(2);
  }
  const exitTimer = setTimeout(() => process.exit(3), MAX_LIFE_MS);
  exitTimer.unref();
  const onDisconnect = () => process.exit(0); // the parent is gone
  process.on('disconnect', onDisconnect);

  const name = process.env.WORKER_NAME ?? `worker-${process.pid}`;
  const env = process.env;
  const handle = createCache({
    CACHE_URL: env.CACHE_URL,
    CACHE_PREFIX: env.CACHE_PREFIX,
    CACHE_VERSION: env.CACHE_VERSION,
    CACHE_TTL_DEFAULT: env.CACHE_TTL_DEFAULT,
  });
  const items = handle.cache.scope<string>('items');
  const runs: Record<string, number> = {};
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  const factory = (key: string, factoryMs = 0) => async (): Promise<string> => {
    const run = (runs[key] = (runs[key] ?? 0) + 1);
    if (factoryMs > 0) await sleep(factoryMs);
    return `${key}@${name}#${run}`;
  };
  const loadOptions = (r: { distributedLock?: boolean; lockTimeoutMs?: number; lockWaitTimeoutMs?: number }) => ({
    ...(r.distributedLock === undefined ? {} : { distributedLock: r.distributedLock }),
    ...(r.lockTimeoutMs === undefined ? {} : { lockTimeout: r.lockTimeoutMs }),
    ...(r.lockWaitTimeoutMs === undefined ? {} : { lockWaitTimeout: r.lockWaitTimeoutMs }),
  });

  async function answer(request: WorkerRequest): Promise<unknown> {
    switch (request.cmd) {
      case 'getOrSet':
        return items.getOrSet(request.key, factory(request.key, request.factoryMs), loadOptions(request));
      case 'load': {
        const load = factory(request.key, request.factoryMs);
        const options = loadOptions(request);
        let maxLatencyMs = 0;
        const settled = await Promise.allSettled(
          Array.from({ length: request.calls }, async () => {
            const started = Date.now();
            try {
              return await items.getOrSet(request.key, load, options);
            } finally {
              maxLatencyMs = Math.max(maxLatencyMs, Date.now() - started);
            }
          }),
        );
        const result: LoadResult = { values: [], errors: [], maxLatencyMs };
        for (const s of settled) {
          if (s.status === 'fulfilled') result.values.push(s.value);
          else result.errors.push(String(s.reason));
        }
        return result;
      }
      case 'get':
        return items.get(request.key);
      case 'peek':
        return items.getSync(request.key);
      case 'set':
        return items.set(request.key, request.value, request.tags === undefined ? undefined : { tags: request.tags });
      case 'delete':
        return items.remove(request.key);
      case 'invalidateTags':
        return handle.cache.invalidateTags(request.tags);
      case 'stats': {
        const s = handle.cache.stats();
        const stats: WorkerStats = { runs: { ...runs }, hits: s.hits, misses: s.misses, l2Hits: s.l2Hits, l2Errors: s.l2Errors };
        return stats;
      }
      case 'crashInFactory': {
        const crash = async (): Promise<string> => {
          runs[request.key] = (runs[request.key] ?? 0) + 1;
          // The lock is held now: tell the parent, then die without releasing it.
          send!({ type: 'in-factory', key: request.key } satisfies WorkerMessage, () => process.exit(request.exitCode));
          return new Promise<string>(() => undefined);
        };
        return items.getOrSet(request.key, crash, { distributedLock: true, lockTimeout: request.lockTimeoutMs });
      }
      case 'hangInFactory': {
        const hang = async (): Promise<string> => {
          runs[request.key] = (runs[request.key] ?? 0) + 1;
          send!({ type: 'in-factory', key: request.key } satisfies WorkerMessage);
          // Pending until the process is killed; a timer keeps the process alive meanwhile, as real work would.
          return new Promise<string>(() => setInterval(() => undefined, 60_000));
        };
        return items.getOrSet(request.key, hang, { distributedLock: true, lockTimeout: request.lockTimeoutMs });
      }
      case 'close':
        await handle.close();
        return undefined;
    }
  }

  process.on('message', (message: { id: number; request: WorkerRequest }) => {
    const { id, request } = message;
    answer(request).then(
      (result) => {
        send({ type: 'reply', id, ok: true, result } satisfies WorkerMessage, () => {
          if (request.cmd !== 'close') return;
          // The reply is out. Nothing but the IPC channel should be left: drop it, and the process must
          // end by itself (the parent checks that it does).
          process.off('disconnect', onDisconnect);
          process.disconnect();
        });
      },
      (error: unknown) => {
        send({ type: 'reply', id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies WorkerMessage);
      },
    );
  });

  handle.cache.ready.then(() => handle.ping()).then(
    () => send({ type: 'ready', name, pid: process.pid } satisfies WorkerMessage),
    (error: unknown) => {
      console.error('the cache never became ready (or Redis did not answer PING):', error);
      process.exit(4);
    },
  );
}

if (process.env[WORKER_ENV_FLAG] === '1') main();
