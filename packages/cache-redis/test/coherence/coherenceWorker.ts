/**
 * A child process of the coherence run (coherenceRun.ts): one `createCache()` on the cache Redis under
 * test, and a "database" Redis that holds the truth, a version number.
 *
 * - `COHERENCE_ROLE=reader`: reads the key `item` through `getOrSet` (the loader reads the database)
 *   back to back, with a few ms between reads, and logs each read: when it started, when it ended, the
 *   version it got.
 * - `COHERENCE_ROLE=writer`: every `COHERENCE_WRITE_EVERY_MS`, bumps the version in the database, then
 *   invalidates the cache (in turn `scope.remove`, `scope.set` of the new version, `invalidateTags`), and
 *   logs when that resolved.
 *
 * It runs for `COHERENCE_DURATION_MS`, then sends its log to the parent (`{ type: 'log', … }`) and
 * exits when the parent disconnects. Every failed call and every unhandled rejection is logged too. It never outlives its parent: it
 * exits when the IPC channel closes, and after its duration plus a margin in any case.
 */
import { Redis } from 'ioredis';
import { createCache } from '../../src/index';

export const COHERENCE_WORKER_FLAG = 'TOOLKIT_COHERENCE_WORKER';

/** What a worker sends back when its run is over. */
export interface CoherenceLog {
  type: 'log';
  role: 'reader' | 'writer';
  name: string;
  /** Reader: flat triples [startedAt, endedAt, version]. Writer: flat pairs [version, resolvedAt]. */
  entries: number[];
  /** Calls that rejected (they should not). */
  failures: string[];
  /** Unhandled rejections in this process (there should be none). */
  unhandled: string[];
  /** Longest call, in ms. */
  maxLatencyMs: number;
  /** Latencies of every call, in ms (for percentiles). */
  latencies: number[];
}

export type CoherenceMessage = { type: 'ready' } | CoherenceLog;

const KEY = 'item';
const TAG = 'item-tag';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const env = process.env;
  const role = env.COHERENCE_ROLE === 'writer' ? 'writer' : 'reader';
  const name = env.COHERENCE_NAME ?? `${role}-${process.pid}`;
  const durationMs = Number(env.COHERENCE_DURATION_MS);
  const writeEveryMs = Number(env.COHERENCE_WRITE_EVERY_MS ?? 100);
  const send = (message: CoherenceMessage) => new Promise<void>((resolve) => process.send!(message, () => resolve()));
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => process.exit(3), durationMs + 60_000).unref();

  const unhandled: string[] = [];
  process.on('unhandledRejection', (reason) => unhandled.push(String(reason instanceof Error ? reason.stack : reason)));

  const db = new Redis(env.COHERENCE_DB_URL as string, { maxRetriesPerRequest: 1, lazyConnect: false });
  const handle = createCache({ CACHE_URL: env.COHERENCE_CACHE_URL, CACHE_PREFIX: env.COHERENCE_PREFIX });
  const items = handle.cache.scope<number>('items', { ttl: '1h' });
  await handle.cache.ready;
  // A Cluster client may take longer than one timeout to connect and load its slot map: wait (bounded).
  for (const deadline = Date.now() + 10_000; ; ) {
    try {
      await handle.ping();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
  await send({ type: 'ready' });
  const start = Number(await new Promise<string>((resolve) => process.once('message', (m: { startAt: number }) => resolve(String(m.startAt)))));
  await sleep(Math.max(0, start - Date.now()));

  const entries: number[] = [];
  const failures: string[] = [];
  const latencies: number[] = [];
  const end = start + durationMs;
  const load = async () => Number((await db.get('version')) ?? 0);
  let n = 0;
  while (Date.now() < end) {
    const startedAt = Date.now();
    try {
      if (role === 'reader') {
        const version = await items.getOrSet(KEY, load, { tags: [TAG] });
        const endedAt = Date.now();
        entries.push(startedAt, endedAt, version);
        latencies.push(endedAt - startedAt);
        await sleep(2);
      } else {
        // The database first, then the cache: what a service does on a write.
        const version = await db.incr('version');
        const how = n++ % 3;
        if (how === 0) await items.remove(KEY);
        else if (how === 1) await items.set(KEY, version, { tags: [TAG] });
        else await handle.cache.invalidateTags([TAG]);
        const resolvedAt = Date.now();
        entries.push(version, resolvedAt);
        latencies.push(resolvedAt - startedAt);
        await sleep(Math.max(0, writeEveryMs - (resolvedAt - startedAt)));
      }
    } catch (error) {
      failures.push(`${new Date(startedAt).toISOString()} ${error instanceof Error ? error.message : String(error)}`);
      latencies.push(Date.now() - startedAt);
      await sleep(5);
    }
  }
  await handle.close();
  db.disconnect();
  const maxLatencyMs = latencies.reduce((a, b) => Math.max(a, b), 0);
  // The parent disconnects once it has the log, and the process exits then (see 'disconnect' above):
  // exiting right after sending could let the parent see the exit before a large log has arrived.
  await send({ type: 'log', role, name, entries, failures, unhandled, maxLatencyMs, latencies });
}

if (process.env[COHERENCE_WORKER_FLAG] === '1') {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(4);
  });
}
