/**
 * Four Node processes (worker.ts, each with its own `createCache(env)`) sharing the shared Redis under a
 * namespace of their own: backplane invalidation reaches every process, the distributed lock makes one
 * factory run for a cold key across all of them, and a lock holder that dies mid-factory (exits, or is
 * SIGKILLed while it renews its lock) is taken over once its lock expires, by exactly one survivor. Then
 * two processes on a private redis-server (never the shared one), killed and restarted: a write made
 * during the outage reaches the other process once Redis is back.
 *
 * Every request to a worker is bounded in time; every worker is closed (or SIGKILLed) after the file, and
 * exits by itself if this process goes away (see worker.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { closeClient, killAllTrackedRedisServers, startRedisServer } from '../redisServers';
import type { RedisServerHandle } from '../redisServers';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from '../sharedRedis';
import { WORKER_ENV_FLAG } from './worker';
import type { LoadResult, WorkerMessage, WorkerRequest, WorkerStats } from './worker';

const REPO_ROOT = resolve(__dirname, '../../../..');
const WORKER_FILE = join(__dirname, 'worker.ts');
/** tsx compiles the worker on the fly: the first start of a run takes a second or two. */
const START_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 5_000;
/** How long another process may take to see an invalidation. */
const PROPAGATION_MS = 2_000;
const CRASH_EXIT_CODE = 70;
/** How many factory runs the 3 survivors made for `key`, in total. */
const runsOf = (stats: WorkerStats[], key: string) => stats.reduce((sum, s) => sum + (s.runs[key] ?? 0), 0);

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Polls `condition` every 20 ms until it holds; fails after `ms`. */
async function eventually(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(20);
  }
}

/** A running worker.ts and a bounded request/reply over its IPC channel. */
class WorkerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #output = '';
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly #listeners = new Set<(message: WorkerMessage) => void>();
  #exitedAlready = false;

  constructor(
    readonly name: string,
    env: Record<string, string>,
  ) {
    this.child = fork(WORKER_FILE, [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env, WORKER_NAME: name, [WORKER_ENV_FLAG]: '1', TSX_TSCONFIG_PATH: join(REPO_ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const append = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString()).slice(-8_192);
    };
    this.child.stdout?.on('data', append);
    this.child.stderr?.on('data', append);
    this.child.on('message', (message: WorkerMessage) => {
      if (message.type === 'reply') {
        const waiter = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.result);
        else waiter?.reject(new Error(`${this.name}: ${message.error}`));
      }
      for (const listener of this.#listeners) listener(message);
    });
    this.exited = new Promise((done) => {
      this.child.once('exit', (code, signal) => {
        this.#exitedAlready = true;
        for (const { reject } of this.#pending.values()) reject(new Error(`${this.name} exited (code ${code}, signal ${signal}) before replying\n${this.#output}`));
        this.#pending.clear();
        done({ code, signal });
      });
    });
  }

  get hasExited(): boolean {
    return this.#exitedAlready;
  }

  output(): string {
    return this.#output;
  }

  /** Resolves with the first message that `matches`; rejects after `ms` or if the worker exits first. */
  waitFor(matches: (message: WorkerMessage) => boolean, ms: number, what: string): Promise<WorkerMessage> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => finish(new Error(`${this.name}: no ${what} within ${ms} ms\n${this.#output}`)), ms);
      const listener = (message: WorkerMessage) => {
        if (matches(message)) finish(undefined, message);
      };
      const onExit = () => finish(new Error(`${this.name} exited before ${what}\n${this.#output}`));
      const finish = (error: Error | undefined, message?: WorkerMessage) => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        this.child.off('exit', onExit);
        if (error) reject(error);
        else resolvePromise(message as WorkerMessage);
      };
      this.#listeners.add(listener);
      this.child.once('exit', onExit);
    });
  }

  request(request: Extract<WorkerRequest, { cmd: 'load' }>): Promise<LoadResult>;
  request(request: Extract<WorkerRequest, { cmd: 'stats' }>): Promise<WorkerStats>;
  request(request: Extract<WorkerRequest, { cmd: 'get' | 'peek' | 'getOrSet' }>): Promise<string | undefined>;
  request(request: WorkerRequest): Promise<unknown>;
  request(request: WorkerRequest): Promise<unknown> {
    if (this.#exitedAlready) return Promise.reject(new Error(`${this.name} has exited\n${this.#output}`));
    const id = this.#nextId++;
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.name}: no reply to ${JSON.stringify(request)} within ${REQUEST_TIMEOUT_MS} ms\n${this.#output}`));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolvePromise(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ id, request });
    });
  }

  /**
   * Asks the worker to close its cache; it must then exit by itself, else it is SIGKILLed. Never throws:
   * says whether close() failed and whether the process ended by itself.
   */
  async close(): Promise<{ closeError: string | undefined; exitedByItself: boolean }> {
    if (this.#exitedAlready) return { closeError: undefined, exitedByItself: true };
    const closeError = await this.request({ cmd: 'close' }).then(
      () => undefined,
      (error: Error) => error.message,
    );
    let timer: NodeJS.Timeout | undefined;
    const exitedByItself = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((done) => (timer = setTimeout(() => done(false), EXIT_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (!exitedByItself) await this.kill();
    return { closeError, exitedByItself };
  }

  async kill(): Promise<void> {
    if (this.#exitedAlready) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

describe('4 processes sharing one Redis (worker.ts × 4, createCache from the environment)', () => {
  const prefix = uniquePrefix('multi-process').replaceAll(':', '.');
  const env = { CACHE_URL: testRedisUrl(), CACHE_PREFIX: prefix, CACHE_VERSION: 'v1', CACHE_TTL_DEFAULT: '60' };
  /** Every worker this file started, closed (or killed) in afterAll. */
  const all: WorkerProcess[] = [];
  let workers: WorkerProcess[] = [];
  let raw: Redis;

  function start(name: string): WorkerProcess {
    const worker = new WorkerProcess(name, env);
    all.push(worker);
    return worker;
  }

  async function startReady(name: string): Promise<WorkerProcess> {
    const worker = start(name);
    await worker.waitFor((m) => m.type === 'ready', START_TIMEOUT_MS, 'ready message');
    return worker;
  }

  beforeAll(async () => {
    raw = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    raw.on('error', () => undefined);
    workers = await Promise.all(['w0', 'w1', 'w2', 'w3'].map(startReady));
  }, START_TIMEOUT_MS + 5_000);

  afterAll(async () => {
    const closed = await Promise.all(all.map(async (w) => ({ name: w.name, ...(await w.close()) })));
    closeClient(raw);
    await cleanupPrefix(testRedisUrl(), prefix);
    // Every worker is gone (checked here, not only hoped for); a close() that left a handle open shows up here.
    for (const w of all) expect(w.hasExited).toBe(true);
    expect(closed.filter((c) => c.closeError !== undefined || !c.exitedByItself)).toEqual([]);
  }, 30_000);

  const others = (except: WorkerProcess) => workers.filter((w) => w !== except);

  /** Makes `worker` hold `key` = `value` in its L1 (read from the L2), waiting out a message still in flight. */
  async function holdInL1(worker: WorkerProcess, key: string, value: string): Promise<void> {
    await eventually(
      async () => (await worker.request({ cmd: 'get', key })) === value && (await worker.request({ cmd: 'peek', key })) === value,
      PROPAGATION_MS,
      `${worker.name} holding ${key}=${value} in L1`,
    );
  }

  it('a set, a delete and a tag invalidation in one process reach the L1 of the three others', async () => {
    const [w0, w1, w2, w3] = workers as [WorkerProcess, WorkerProcess, WorkerProcess, WorkerProcess];
    const key = 'backplane:user:1';

    // Every process holds v1 in its L1.
    await w0.request({ cmd: 'set', key, value: 'v1' });
    expect(await w0.request({ cmd: 'peek', key })).toBe('v1');
    for (const w of others(w0)) await holdInL1(w, key, 'v1');

    // w0 writes v2: the others drop v1 from L1 (they would answer v1 for a minute without the backplane).
    await w0.request({ cmd: 'set', key, value: 'v2' });
    for (const w of others(w0)) {
      await eventually(async () => (await w.request({ cmd: 'peek', key })) !== 'v1', PROPAGATION_MS, `${w.name} dropping v1`);
      expect(await w.request({ cmd: 'get', key })).toBe('v2');
      expect(await w.request({ cmd: 'peek', key })).toBe('v2');
    }

    // w3 deletes: nobody answers it any more, from L1 or from the L2.
    await w3.request({ cmd: 'delete', key });
    for (const w of others(w3)) {
      await eventually(async () => (await w.request({ cmd: 'peek', key })) === undefined, PROPAGATION_MS, `${w.name} dropping v2`);
      expect(await w.request({ cmd: 'get', key })).toBeUndefined();
    }

    // A tagged entry in every L1; w2 invalidates the tag.
    const tagged = 'backplane:order:9';
    await w1.request({ cmd: 'set', key: tagged, value: 'order 9', tags: ['customer:9'] });
    for (const w of others(w1)) await holdInL1(w, tagged, 'order 9');
    await w2.request({ cmd: 'invalidateTags', tags: ['customer:9'] });
    for (const w of others(w2)) {
      await eventually(async () => (await w.request({ cmd: 'peek', key: tagged })) === undefined, PROPAGATION_MS, `${w.name} dropping the tagged entry`);
      expect(await w.request({ cmd: 'get', key: tagged })).toBeUndefined(); // invalidated in the L2 as well
    }

    // None of this ran a factory.
    for (const w of workers) {
      const { runs } = await w.request({ cmd: 'stats' });
      expect([runs[key], runs[tagged]]).toEqual([undefined, undefined]);
    }
  });

  it('one cold key, 50 concurrent calls in each of the 4 processes, distributedLock: the factory runs once in all', async () => {
    const key = 'cold:product:42';
    const calls = 50;
    const before = await Promise.all(workers.map((w) => w.request({ cmd: 'stats' })));
    const started = Date.now();
    const results = await Promise.all(
      workers.map((w) => w.request({ cmd: 'load', key, calls, factoryMs: 300, distributedLock: true, lockTimeoutMs: 5_000 })),
    );
    const elapsed = Date.now() - started;

    const stats = await Promise.all(workers.map((w) => w.request({ cmd: 'stats' })));
    const runsPerProcess = stats.map((s) => s.runs[key] ?? 0);
    expect(runsPerProcess.reduce((a, b) => a + b, 0)).toBe(1);

    for (const r of results) expect(r.errors).toEqual([]);
    const values = results.flatMap((r) => r.values);
    expect(values).toHaveLength(4 * calls);
    const producer = workers[runsPerProcess.indexOf(1)]!;
    expect(new Set(values)).toEqual(new Set([`${key}@${producer.name}#1`]));
    // The three others took it from the L2 (not from a factory of their own).
    for (const [i, s] of stats.entries()) if (workers[i] !== producer) expect(s.l2Hits - before[i]!.l2Hits).toBeGreaterThanOrEqual(1);
    // One factory run (300 ms) plus polling, nowhere near the lock timeout.
    expect(elapsed).toBeLessThan(3_000);
  });

  it('(control) without the lock, the same load runs the factory in more than one process', async () => {
    // Shows that the previous test can fail: single-flight alone is per process.
    const key = 'cold:product:43';
    const results = await Promise.all(workers.map((w) => w.request({ cmd: 'load', key, calls: 50, factoryMs: 300, distributedLock: false })));
    for (const r of results) expect(r.errors).toEqual([]);
    const stats = await Promise.all(workers.map((w) => w.request({ cmd: 'stats' })));
    const total = stats.map((s) => s.runs[key] ?? 0).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(1);
    expect(total).toBeLessThanOrEqual(4); // still one per process: local single-flight
  });

  it('a lock holder that dies mid-factory: another process completes the load once the lock expires', async () => {
    const key = 'crash:report:7';
    const lockTimeoutMs = 1_000;
    const lockKey = `${prefix}:v1:l:items:${key}`; // the lock is taken on the full key, `items:` + key
    const holder = await startReady('holder');

    const entered = holder.waitFor((m) => m.type === 'in-factory' && m.key === key, REQUEST_TIMEOUT_MS, 'in-factory message');
    void holder.request({ cmd: 'crashInFactory', key, lockTimeoutMs, exitCode: CRASH_EXIT_CODE }).catch(() => undefined); // never answers
    await entered;
    const crashedAt = Date.now();
    const { code } = await holder.exited;
    expect(code).toBe(CRASH_EXIT_CODE);

    // The dead process still holds the lock in Redis; it frees itself only at its expiry.
    const pttl = await raw.pttl(lockKey);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(lockTimeoutMs);

    const [w0] = workers as [WorkerProcess];
    const asked = Date.now();
    const value = await w0.request({ cmd: 'getOrSet', key, factoryMs: 50, distributedLock: true, lockTimeoutMs });
    const done = Date.now();

    expect(value).toBe(`${key}@w0#1`);
    // It waited for the dead holder's lock (it did not skip it)...
    expect(done - asked).toBeGreaterThanOrEqual(pttl - 100);
    // ...and not much longer: bounded by the lock timeout plus a little.
    expect(done - crashedAt).toBeLessThan(lockTimeoutMs + 3_000);
    // w0 took the lock, produced and released it; the value is in the L2 for everyone.
    expect(await raw.exists(lockKey)).toBe(0);
    expect((await w0.request({ cmd: 'stats' })).runs[key]).toBe(1);
    const [, w1] = workers as [WorkerProcess, WorkerProcess];
    expect(await w1.request({ cmd: 'get', key })).toBe(`${key}@w0#1`);
  });

  it('a lock holder SIGKILLed mid-factory, 3 survivors waiting with 20 calls each: exactly one more factory run in all', async () => {
    const key = 'crash:invoice:3';
    const lockTimeoutMs = 2_000; // renewed every ~667 ms: a busy machine does not lose it
    const lockKey = `${prefix}:v1:l:items:${key}`; // the lock is taken on the full key, `items:` + key
    const holder = await startReady('holder-sigkill');
    const survivors = workers.slice(1);

    const entered = holder.waitFor((m) => m.type === 'in-factory' && m.key === key, REQUEST_TIMEOUT_MS, 'in-factory message');
    void holder.request({ cmd: 'hangInFactory', key, lockTimeoutMs }).catch(() => undefined); // never answers
    await entered;
    const loads = survivors.map((w) =>
      w.request({ cmd: 'load', key, calls: 20, factoryMs: 200, distributedLock: true, lockTimeoutMs, lockWaitTimeoutMs: 15_000 }),
    );

    // The holder is alive and renews its lock: 1.25 lock lifetimes later it still has it, nobody else loaded.
    await sleep(2_500);
    expect(await raw.pttl(lockKey)).toBeGreaterThan(0);
    expect(runsOf(await Promise.all(survivors.map((w) => w.request({ cmd: 'stats' }))), key)).toBe(0);

    holder.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await holder.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const results = await Promise.all(loads);
    const doneAt = Date.now();

    const stats = await Promise.all(survivors.map((w) => w.request({ cmd: 'stats' })));
    expect(runsOf(stats, key)).toBe(1);
    const producer = survivors[stats.findIndex((s) => s.runs[key] === 1)]!;
    for (const r of results) {
      expect(r.errors).toEqual([]);
      expect(r.values).toEqual(Array.from({ length: 20 }, () => `${key}@${producer.name}#1`));
    }
    // Taken over once the dead holder's lock expired (at most lockTimeout after its last renewal), not at
    // lockWaitTimeout.
    expect(doneAt - killedAt).toBeLessThan(lockTimeoutMs + 2_000);
    expect(await raw.exists(lockKey)).toBe(0);
  });
});

describe('2 processes on a private redis-server that is killed and restarted (auto-recovery)', () => {
  let server: RedisServerHandle | undefined;
  const started: WorkerProcess[] = [];

  afterAll(async () => {
    await Promise.all(started.map((w) => w.close()));
    await server?.stop();
    await killAllTrackedRedisServers();
  }, 30_000);

  it('a set made while Redis is down reaches the other process once Redis is back', async () => {
    server = await startRedisServer();
    const env = { CACHE_URL: server.url, CACHE_PREFIX: 'recovery', CACHE_VERSION: 'v1', CACHE_TTL_DEFAULT: '60' };
    const [writer, reader] = await Promise.all(
      ['writer', 'reader'].map(async (name) => {
        const worker = new WorkerProcess(name, env);
        started.push(worker);
        await worker.waitFor((m) => m.type === 'ready', START_TIMEOUT_MS, 'ready message');
        return worker;
      }),
    ) as [WorkerProcess, WorkerProcess];
    await writer.request({ cmd: 'set', key: 'k', value: 'v1' });
    await sleep(100); // the writer's message about v1 has gone by
    expect(await reader.request({ cmd: 'get', key: 'k' })).toBe('v1');

    await server.kill();
    await writer.request({ cmd: 'set', key: 'k', value: 'v2' }); // resolves: kept for replay
    expect(await reader.request({ cmd: 'peek', key: 'k' })).toBe('v1'); // nobody was told yet

    await server.restart(); // empty (no persistence): only the replay can bring v2 back
    const back = Date.now();
    await eventually(async () => (await reader.request({ cmd: 'get', key: 'k' })) === 'v2', 5_000, 'the reader serving v2');
    expect(Date.now() - back).toBeLessThan(5_000);
    expect((await writer.request({ cmd: 'stats' })).l2Errors).toBeGreaterThan(0); // the failure was reported
  }, START_TIMEOUT_MS + 20_000);
});
