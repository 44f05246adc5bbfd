/**
 * A coherence run: several processes share a cache Redis that the run kills, stops (SIGSTOP) and pauses
 * (`CLIENT PAUSE`), while a writer bumps a version in a separate, healthy "database" Redis and
 * invalidates the cache after each bump. Every read is checked against the writes that had resolved when
 * it started: a read is stale by how long ago the first invalidation newer than its value resolved.
 *
 * Used by the CI test (integration/coherence.test.ts, a short run) and by `pnpm soak` (soak.ts, minutes,
 * figures for docs/reliability.md). Everything runs on loopback, on servers the run starts itself; every
 * process it starts ends with it.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startRedisCluster, startRedisServer } from '../redisServers';
import type { RedisClusterHandle, RedisServerHandle } from '../redisServers';
import { COHERENCE_WORKER_FLAG } from './coherenceWorker';
import type { CoherenceLog, CoherenceMessage } from './coherenceWorker';

// Jest and `pnpm soak` both run from the repository's root (this file is loaded as CommonJS by one and
// as an ES module by the other, so neither __dirname nor import.meta is available to both).
const REPO_ROOT = process.cwd();
const WORKER_FILE = join(REPO_ROOT, 'packages/cache-redis/test/coherence/coherenceWorker.ts');

/**
 * One step of a run: healthy traffic, or a fault of the cache Redis for `ms`. On a Cluster (`cluster:
 * true`), `failover`: the master holding the entry is killed, and once its replica has taken over, `ms`
 * later, it is restarted (it rejoins as a replica); the fault ends when the replica has taken over.
 */
export type Phase = { kind: 'steady'; ms: number } | { kind: 'kill' | 'sigstop' | 'pause'; ms: number } | { kind: 'failover'; ms: number };

export interface CoherenceOptions {
  readers: number;
  phases: readonly Phase[];
  /** The writer's period. @default 100 */
  writeEveryMs?: number;
  /** After a fault ends, reads are not checked for this long (the time recovery may take). @default 1000 */
  settleMs?: number;
  /** A read may be this stale and still count as coherent. @default 500 */
  boundMs?: number;
  /**
   * The cache Redis is a Cluster of 3 masters + 3 replicas (`cluster-require-full-coverage no`), for
   * `failover` phases, instead of one server.
   * @default false
   */
  cluster?: boolean;
  log?: (line: string) => void;
}

export interface CoherenceReport {
  reads: number;
  writes: number;
  faults: number;
  failures: string[];
  unhandled: string[];
  /** Reads checked (outside the fault windows) that were staler than `boundMs`. */
  violations: Array<{ reader: string; startedAt: number; version: number; staleMs: number }>;
  /** Staleness of every checked read, in ms (0 when fresh): p50, p99, max. */
  staleness: { p50: number; p99: number; max: number };
  /** Staleness of the reads inside fault windows (not held to the bound), for the record. */
  stalenessDuringFaults: { p99: number; max: number };
  latency: { p50: number; p99: number; max: number };
  /** [from, to] windows (ms since the run's start) where reads were not checked. */
  excluded: Array<[number, number]>;
  durationMs: number;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

interface Worker {
  name: string;
  ready: Promise<void>;
  log: Promise<CoherenceLog>;
  start(at: number): void;
  kill(): void;
}

function startWorker(name: string, env: Record<string, string>): Worker {
  const child = fork(WORKER_FILE, [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env, COHERENCE_NAME: name, [COHERENCE_WORKER_FLAG]: '1', TSX_TSCONFIG_PATH: join(REPO_ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_192);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let readyResolve!: () => void;
  let logResolve!: (log: CoherenceLog) => void;
  let fail!: (error: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    readyResolve = res;
    fail = rej;
  });
  const log = new Promise<CoherenceLog>((res, rej) => {
    logResolve = res;
    const previous = fail;
    fail = (error) => {
      previous(error);
      rej(error);
    };
  });
  log.catch(() => undefined);
  ready.catch(() => undefined);
  child.on('message', (message: CoherenceMessage) => {
    if (message.type === 'ready') return readyResolve();
    logResolve(message);
    child.disconnect(); // the worker exits when its channel closes
  });
  child.once('exit', (code, signal) => fail(new Error(`${name} exited (code ${code}, signal ${signal}) before sending its log\n${output}`)));
  return {
    name,
    ready,
    log,
    start: (at) => child.send({ startAt: at }),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

async function fault(server: RedisServerHandle, phase: Exclude<Phase, { kind: 'failover' }>): Promise<void> {
  switch (phase.kind) {
    case 'steady':
      await sleep(phase.ms);
      return;
    case 'kill':
      await server.kill();
      await sleep(phase.ms);
      await server.restart();
      return;
    case 'sigstop':
      process.kill(server.pid, 'SIGSTOP');
      try {
        await sleep(phase.ms);
      } finally {
        process.kill(server.pid, 'SIGCONT');
      }
      return;
    case 'pause':
      await server.pause(phase.ms);
      await sleep(phase.ms);
      return;
  }
}

/** `INFO replication` role of a node and whether it holds an entry of `prefix`; undefined if it does not answer. */
async function nodeState(server: RedisServerHandle, prefix: string): Promise<{ master: boolean; holds: boolean } | undefined> {
  if (!server.running) return undefined;
  const client = new Redis({ host: server.host, port: server.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, connectTimeout: 500, commandTimeout: 500 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const master = /role:master/.test(await client.info('replication'));
    const [, keys] = await client.scan('0', 'MATCH', `${prefix}:*:e:*`, 'COUNT', 10_000);
    return { master, holds: keys.length > 0 };
  } catch {
    return undefined;
  } finally {
    if (client.status !== 'end') client.disconnect();
  }
}

/**
 * Kills the master holding the entry, waits until its replica has taken over (three masters answer
 * again), restarts it `ms` later (as a replica); resolves to when the replica took over.
 */
async function failover(cluster: RedisClusterHandle, prefix: string, ms: number, log: (line: string) => void): Promise<number> {
  const all = [...cluster.servers, ...cluster.replicas];
  let victim: RedisServerHandle | undefined;
  for (let attempt = 0; victim === undefined && attempt < 100; attempt++) {
    const states = await Promise.all(all.map((server) => nodeState(server, prefix)));
    victim = all.find((_, i) => states[i]?.master === true && states[i]?.holds === true);
    if (victim === undefined) await sleep(10); // the writer may have just removed it
  }
  if (victim === undefined) throw new Error('no master holds the entry');
  const killedAt = Date.now();
  await victim.kill();
  for (;;) {
    const states = await Promise.all(all.map((server) => nodeState(server, prefix)));
    if (states.filter((state) => state?.master === true).length === 3) break;
    if (Date.now() - killedAt > 20_000) throw new Error(`no replica of ${victim.url} took over within 20 s`);
    await sleep(50);
  }
  const tookOverAt = Date.now();
  log(`failover: ${victim.url} killed, its replica took over ${tookOverAt - killedAt} ms later`);
  await sleep(ms);
  await victim.restart();
  return tookOverAt;
}

/** Runs the phases with `readers` reader processes and one writer; returns what every read saw. */
export async function runCoherence(options: CoherenceOptions): Promise<CoherenceReport> {
  if (!existsSync(WORKER_FILE)) throw new Error(`run the coherence test from the repository's root (no ${WORKER_FILE})`);
  const { readers, phases, writeEveryMs = 100, settleMs = 1_000, boundMs = 500, log = () => undefined } = options;
  // A failover takes ~3.5 s more than its `ms` (detection and election): the workers run that long too.
  const durationMs = phases.reduce((sum, p) => sum + p.ms + (p.kind === 'failover' ? 4_000 : 0), 0);
  const cluster = options.cluster ? await startRedisCluster({ replicas: 1, args: ['--cluster-require-full-coverage', 'no'] }) : undefined;
  const cacheServer = cluster === undefined ? await startRedisServer() : undefined;
  const dbServer = await startRedisServer();
  const workers: Worker[] = [];
  const prefix = `coherence${randomUUID().slice(0, 8)}`;
  try {
    const env = {
      COHERENCE_CACHE_URL: cluster === undefined ? (cacheServer as RedisServerHandle).url : `redis://${cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(',')}`,
      COHERENCE_DB_URL: dbServer.url,
      COHERENCE_PREFIX: prefix,
      COHERENCE_DURATION_MS: String(durationMs),
      COHERENCE_WRITE_EVERY_MS: String(writeEveryMs),
    };
    for (let i = 0; i < readers; i++) workers.push(startWorker(`reader-${i + 1}`, { ...env, COHERENCE_ROLE: 'reader' }));
    workers.push(startWorker('writer', { ...env, COHERENCE_ROLE: 'writer' }));
    await Promise.all(workers.map((w) => w.ready));
    const startAt = Date.now() + 200;
    for (const w of workers) w.start(startAt);
    await sleep(startAt - Date.now());

    const excluded: Array<[number, number]> = [];
    for (const phase of phases) {
      const from = Date.now();
      log(`${phase.kind} for ${phase.ms} ms`);
      if (phase.kind === 'failover') {
        if (cluster === undefined) throw new Error('a failover phase needs `cluster: true`');
        excluded.push([from, (await failover(cluster, prefix, phase.ms, log)) + settleMs]);
        continue;
      }
      if (phase.kind === 'steady') await sleep(phase.ms);
      else if (cacheServer === undefined) throw new Error(`a ${phase.kind} phase needs a single server (not \`cluster: true\`)`);
      else await fault(cacheServer, phase);
      if (phase.kind !== 'steady') excluded.push([from, Date.now() + settleMs]);
    }
    const logs = await Promise.all(workers.map((w) => w.log));
    return analyse(logs, excluded, boundMs, startAt, durationMs);
  } finally {
    for (const w of workers) w.kill();
    await Promise.allSettled([cacheServer?.kill(), cluster?.stop(), dbServer.kill()]);
  }
}

function analyse(logs: CoherenceLog[], excluded: Array<[number, number]>, boundMs: number, startAt: number, durationMs: number): CoherenceReport {
  const writer = logs.find((l) => l.role === 'writer') as CoherenceLog;
  // resolvedAt of each version's invalidation, in version order.
  const writes: Array<{ version: number; resolvedAt: number }> = [];
  for (let i = 0; i < writer.entries.length; i += 2) writes.push({ version: writer.entries[i] as number, resolvedAt: writer.entries[i + 1] as number });
  writes.sort((a, b) => a.version - b.version);
  /** When the first invalidation of a version newer than `version` resolved, or Infinity. */
  const supersededAt = (version: number): number => {
    let earliest = Number.POSITIVE_INFINITY;
    for (const w of writes) if (w.version > version && w.resolvedAt < earliest) earliest = w.resolvedAt;
    return earliest;
  };
  const cache = new Map<number, number>();
  const superseded = (version: number) => {
    let at = cache.get(version);
    if (at === undefined) cache.set(version, (at = supersededAt(version)));
    return at;
  };
  const inFault = (t: number) => excluded.some(([from, to]) => t >= from && t <= to);

  const checked: number[] = [];
  const duringFaults: number[] = [];
  const violations: CoherenceReport['violations'] = [];
  let reads = 0;
  for (const reader of logs.filter((l) => l.role === 'reader')) {
    for (let i = 0; i < reader.entries.length; i += 3) {
      reads++;
      const startedAt = reader.entries[i] as number;
      const version = reader.entries[i + 2] as number;
      const staleMs = Math.max(0, startedAt - superseded(version));
      if (inFault(startedAt)) {
        duringFaults.push(staleMs);
        continue;
      }
      checked.push(staleMs);
      if (staleMs > boundMs) violations.push({ reader: reader.name, startedAt: startedAt - startAt, version, staleMs });
    }
  }
  checked.sort((a, b) => a - b);
  duringFaults.sort((a, b) => a - b);
  const latencies = logs.flatMap((l) => l.latencies).sort((a, b) => a - b);
  return {
    reads,
    writes: writes.length,
    faults: excluded.length,
    failures: logs.flatMap((l) => l.failures.map((f) => `${l.name}: ${f}`)),
    unhandled: logs.flatMap((l) => l.unhandled.map((u) => `${l.name}: ${u}`)),
    violations,
    staleness: { p50: percentile(checked, 50), p99: percentile(checked, 99), max: checked[checked.length - 1] ?? 0 },
    stalenessDuringFaults: { p99: percentile(duringFaults, 99), max: duringFaults[duringFaults.length - 1] ?? 0 },
    latency: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? 0 },
    excluded: excluded.map(([from, to]) => [from - startAt, to - startAt]),
    durationMs,
  };
}
