/**
 * Real Redis servers for integration tests: find the binaries, start standalone servers and 3-master
 * clusters on free loopback ports, kill / pause / restart them, and make sure none outlives the test
 * process.
 *
 * Every server binds 127.0.0.1 only, keeps nothing on disk (`--save "" --appendonly no`), and is tracked
 * from spawn to exit; whatever is still running when the process exits is SIGKILLed (see `reaper` below).
 * The shared Redis at REDIS_URL is never started, stopped, paused or clustered from here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { runInThisContext } from 'node:vm';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export const LOOPBACK = '127.0.0.1';

export const REDIS_SERVER_NOT_FOUND =
  'redis-server was not found on PATH: install Redis 7 (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL to a running server';

export const REDIS_CLI_NOT_FOUND =
  'redis-cli was not found on PATH (needed to create a test Redis Cluster): install Redis 7 (Debian/Ubuntu: apt-get install redis-tools or redis-server; macOS: brew install redis) or set REDIS_CLI_BIN to its path';

/** How long a server may take to answer PING after it is spawned. */
const START_TIMEOUT_MS = 10_000;
/** How long `stop()` waits after SIGTERM before it sends SIGKILL. */
const STOP_GRACE_MS = 3_000;
/** How long to wait for a process to be gone after SIGKILL before giving up with an error. */
const KILL_TIMEOUT_MS = 5_000;
/** Bound for `redis-cli --cluster create` and for every node reaching `cluster_state:ok`. */
const CLUSTER_CREATE_TIMEOUT_MS = 20_000;
const CLUSTER_READY_TIMEOUT_MS = 15_000;
/** A free port can be taken by someone else between `freePort()` and the server's bind: retry that many times. */
const PORT_ATTEMPTS = 4;
/** How much of a server's own output is kept to explain a failure. */
const OUTPUT_LIMIT = 8_192;

export interface RedisServerHandle {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Pid of the current process (a new one after `restart()`). */
  readonly pid: number;
  /** False once the process has exited (killed, stopped or crashed), true again after `restart()`. */
  readonly running: boolean;
  /** SIGTERM, wait for the exit; SIGKILL if it is still there after 3 s. No-op if it is not running. */
  stop(): Promise<void>;
  /** SIGKILL (a crash: no shutdown, no goodbye to clients), wait for the exit. No-op if it is not running. */
  kill(): Promise<void>;
  /** `CLIENT PAUSE ms ALL` from a separate connection; resolves once the pause is in effect. */
  pause(ms: number): Promise<void>;
  /** Start the server again on the same port (stopping the current process first if it still runs). */
  restart(): Promise<void>;
  /** The last few KB the server printed (loglevel warning), for diagnosing a failure. */
  output(): string;
}

export interface StartRedisServerOptions {
  /** Defaults to a free port on 127.0.0.1 (retried if someone takes it first). */
  port?: number;
  /** Extra `redis-server` arguments, appended after the defaults (so they can override them). */
  args?: string[];
}

export interface RedisClusterNode {
  host: string;
  port: number;
}

export interface RedisClusterHandle {
  /** Startup nodes for `new Cluster(nodes)`: the masters as created. */
  readonly nodes: RedisClusterNode[];
  /** The masters' URLs, as created. */
  readonly urls: string[];
  /** The masters as created, to kill / pause / restart one of them in a fault test. */
  readonly servers: RedisServerHandle[];
  /** The replicas as created (none unless `replicas` was given). */
  readonly replicas: RedisServerHandle[];
  /** The temporary `--dir` holding the nodes' cluster config files; removed by `stop()`. */
  readonly dir: string;
  /** Stops every node and removes the temporary directory. */
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** Number of masters; at least 3, the minimum `redis-cli --cluster create` accepts. Default 3. */
  masters?: number;
  /**
   * Replicas per master (default 0). With replicas, `startRedisCluster` also waits until every replica's
   * link to its master is up, so that a killed master's replica can take over at once.
   */
  replicas?: number;
  /** Extra `redis-server` arguments for every node, after the cluster ones (so they can override them). */
  args?: string[];
}

// ---------------------------------------------------------------------------------------------------------
// Leak protection
// ---------------------------------------------------------------------------------------------------------

/** Every redis-server this module instance spawned that has not exited yet. */
const tracked = new Set<Spawned>();
/** Cluster directories not removed yet. */
const trackedDirs = new Set<string>();

interface Reaper {
  processes: Set<Set<{ child: ChildProcess }>>;
  dirs: Set<Set<string>>;
}

/**
 * The real `process`. Under jest, test files see a copy of `process` whose 'exit' event never fires, so an
 * exit hook registered on it would silently do nothing; `runInThisContext` evaluates in Node's own context.
 */
function hostProcess(): NodeJS.Process {
  try {
    const candidate = runInThisContext('typeof process === "object" ? process : undefined') as NodeJS.Process | undefined;
    if (candidate !== undefined && typeof candidate.on === 'function' && typeof candidate.pid === 'number') {
      return candidate;
    }
  } catch {
    // Not available: fall back to the process this module sees.
  }
  return process;
}

/**
 * One 'exit' listener per real process, shared by every instance of this module (jest loads it once per
 * test file): it SIGKILLs whatever is still tracked and removes leftover cluster directories. Only
 * synchronous work is possible in an 'exit' listener, which is exactly what `kill` and `rmSync` are.
 */
function registerReaper(): void {
  const host = hostProcess();
  const key = Symbol.for('toolkit.test.redisServers.reaper');
  const holder = host as unknown as Record<symbol, Reaper | undefined>;
  let reaper = holder[key];
  if (reaper === undefined) {
    const created: Reaper = { processes: new Set(), dirs: new Set() };
    reaper = created;
    holder[key] = created;
    host.once('exit', () => {
      for (const set of created.processes) {
        for (const { child } of set) {
          try {
            child.kill('SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
      for (const set of created.dirs) {
        for (const dir of set) rmSync(dir, { recursive: true, force: true });
      }
    });
  }
  reaper.processes.add(tracked);
  reaper.dirs.add(trackedDirs);
}

registerReaper();

/** Pids of the redis-server processes this module started that are still running. */
export function trackedRedisPids(): number[] {
  return [...tracked].map(({ child }) => child.pid).filter((pid): pid is number => pid !== undefined);
}

/** SIGKILL every server this module started and still tracks (a last resort for an `afterAll`). */
export async function killAllTrackedRedisServers(): Promise<void> {
  await Promise.all([...tracked].map((spawned) => killAndWait(spawned)));
}

// ---------------------------------------------------------------------------------------------------------
// Binaries and ports
// ---------------------------------------------------------------------------------------------------------

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function fromEnv(variable: string): string | undefined {
  const value = process.env[variable]?.trim();
  if (value === undefined || value === '') return undefined;
  if (!isExecutableFile(value)) {
    throw new Error(`${variable}=${value} is not an executable file: point it at the binary or unset it to search PATH`);
  }
  return value;
}

/** `REDIS_SERVER_BIN` if set, else `redis-server` on PATH; throws an error that says how to get one. */
export function findRedisServerBinary(): string {
  const found = fromEnv('REDIS_SERVER_BIN') ?? findOnPath('redis-server');
  if (found === undefined) throw new Error(REDIS_SERVER_NOT_FOUND);
  return found;
}

/** `REDIS_CLI_BIN` if set, else `redis-cli` next to REDIS_SERVER_BIN, else on PATH. */
export function findRedisCliBinary(): string {
  const explicit = fromEnv('REDIS_CLI_BIN');
  if (explicit !== undefined) return explicit;
  const serverBin = process.env.REDIS_SERVER_BIN?.trim();
  if (serverBin) {
    const sibling = join(dirname(serverBin), 'redis-cli');
    if (isExecutableFile(sibling)) return sibling;
  }
  const found = findOnPath('redis-cli');
  if (found === undefined) throw new Error(REDIS_CLI_NOT_FOUND);
  return found;
}

/** A port that was free on 127.0.0.1 a moment ago (listen on port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close((closeError) => {
        if (closeError) reject(closeError);
        else if (port === undefined) reject(new Error('could not read the port of a listening socket'));
        else resolve(port);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Probing
// ---------------------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Options for short-lived probe clients: connect once, never retry, never queue. */
function probeOptions(timeoutMs: number): RedisOptions {
  return {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    connectionName: 'toolkit-test-probe',
  };
}

/** Runs `use` with a fresh connection to `target` and always disconnects it, whatever happens. */
async function withClient<T>(target: string | RedisClusterNode, timeoutMs: number, use: (client: Redis) => Promise<T>): Promise<T> {
  const client =
    typeof target === 'string' ? new Redis(target, probeOptions(timeoutMs)) : new Redis({ ...probeOptions(timeoutMs), host: target.host, port: target.port });
  client.on('error', () => {
    // Connection errors surface through the rejected command; without a listener ioredis would print them.
  });
  try {
    await client.connect();
    return await use(client);
  } finally {
    closeClient(client);
  }
}

/**
 * Disconnects a client unless its connection has already ended. ioredis' `disconnect()` on a connection the
 * server already closed arms a 2 s timer that waits for a 'close' event that has already happened, which
 * keeps the process (and jest) alive for nothing.
 */
export function closeClient(client: Redis | Cluster): void {
  if (client.status !== 'end') client.disconnect();
}

/**
 * Rejects after `ms` (5 s unless told) unless `promise` settles first, so that no call can hang a test;
 * the timer never outlives the race.
 */
export async function within<T>(promise: Promise<T>, ms = 5_000, what = 'a call'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True if a Redis at `url` answers PING with PONG within `timeoutMs`; never throws. */
export async function redisAnswers(url: string, timeoutMs = 500): Promise<boolean> {
  const attempt = withClient(url, timeoutMs, async (client) => (await client.ping()) === 'PONG');
  attempt.catch(() => undefined); // it may settle after the race was lost
  try {
    return await within(attempt, timeoutMs, `PING ${url}`);
  } catch {
    return false;
  }
}

/** The `process_id` of the Redis answering PING at `url`, or undefined if none answers. */
async function answeringPid(url: string, timeoutMs = 250): Promise<number | undefined> {
  const attempt = withClient(url, timeoutMs, async (client) => {
    if ((await client.ping()) !== 'PONG') return undefined;
    const info = await client.info('server');
    const match = /^process_id:(\d+)/m.exec(info);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  });
  attempt.catch(() => undefined);
  try {
    return await within(attempt, timeoutMs, `INFO ${url}`);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------------

interface Spawned {
  child: ChildProcess;
  /** Resolves when the process has exited (or failed to spawn); never rejects. */
  exited: Promise<void>;
  hasExited(): boolean;
  output(): string;
}

function spawnRedisServer(bin: string, port: number, extraArgs: readonly string[]): Spawned {
  const args = [
    '--port', String(port),
    '--bind', LOOPBACK,
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
    '--loglevel', 'warning',
    ...extraArgs,
  ];
  // Same process group as the test process (not detached): Ctrl-C in a terminal reaches the servers too.
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited = false;
  const append = (chunk: Buffer | string) => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  // A server a test forgot must not keep a jest worker alive: jest would SIGTERM it, and then no 'exit'
  // listener runs. Unreferenced, the worker exits normally and the reaper kills the server.
  child.unref();
  (child.stdout as Socket | null)?.unref();
  (child.stderr as Socket | null)?.unref();

  let markExited!: () => void;
  const exitedPromise = new Promise<void>((resolve) => {
    markExited = resolve;
  });
  const spawned: Spawned = { child, exited: exitedPromise, hasExited: () => exited, output: () => output };
  const done = () => {
    exited = true;
    tracked.delete(spawned);
    markExited();
  };
  child.once('exit', done);
  child.once('error', (error) => {
    append(`\n[spawn error] ${error.message}\n`);
    done();
  });
  tracked.add(spawned);
  return spawned;
}

/** Waits at most `ms` for the process to exit; true if it has. */
async function waitForExit(spawned: Spawned, ms: number): Promise<boolean> {
  if (spawned.hasExited()) return true;
  try {
    // The timer inside `within` keeps the event loop alive meanwhile (the child itself is unreferenced).
    await within(spawned.exited, ms, 'exit');
    return true;
  } catch {
    return spawned.hasExited();
  }
}

async function killAndWait(spawned: Spawned): Promise<void> {
  if (spawned.hasExited()) return;
  spawned.child.kill('SIGKILL');
  if (!(await waitForExit(spawned, KILL_TIMEOUT_MS))) {
    throw new Error(`redis-server pid ${spawned.child.pid} did not exit ${KILL_TIMEOUT_MS} ms after SIGKILL`);
  }
}

async function terminate(spawned: Spawned): Promise<void> {
  if (spawned.hasExited()) return;
  spawned.child.kill('SIGTERM');
  if (await waitForExit(spawned, STOP_GRACE_MS)) return;
  await killAndWait(spawned);
}

class StartFailed extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
    this.name = 'StartFailed';
  }
}

/** Spawns a server on `port` and waits (bounded) until it answers PING. Kills it if it does not. */
async function spawnAndWait(bin: string, port: number, args: readonly string[]): Promise<Spawned> {
  const spawned = spawnRedisServer(bin, port, args);
  const url = `redis://${LOOPBACK}:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawned.hasExited()) break;
    // Whoever answers must be our process, not someone who took the port between freePort() and the bind.
    const pid = await answeringPid(url);
    if (pid !== undefined && pid === spawned.child.pid) return spawned;
    if (pid !== undefined) {
      // Someone else owns the port; ours will fail to bind (or already has).
      await killAndWait(spawned);
      throw new StartFailed(`port ${port} on ${LOOPBACK} is already served by another Redis (pid ${pid})`, true);
    }
    await sleep(25);
  }
  const exited = spawned.hasExited();
  if (!exited) await killAndWait(spawned);
  const output = spawned.output().trim();
  const portTaken = /address already in use|could not create server tcp listening socket/i.test(output);
  throw new StartFailed(
    exited
      ? `redis-server on ${LOOPBACK}:${port} exited before answering PING (code ${spawned.child.exitCode}, signal ${spawned.child.signalCode})${output ? `:\n${output}` : ''}`
      : `redis-server on ${LOOPBACK}:${port} did not answer PING within ${START_TIMEOUT_MS} ms${output ? `:\n${output}` : ''}`,
    portTaken,
  );
}

/** Picks a free port and starts a server on it, picking another one if the port was taken meanwhile. */
async function spawnOnFreePort(bin: string, args: (port: number) => readonly string[]): Promise<{ port: number; spawned: Spawned }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      return { port, spawned: await spawnAndWait(bin, port, args(port)) };
    } catch (error) {
      lastError = error;
      if (!(error instanceof StartFailed && error.portTaken)) throw error;
    }
  }
  throw lastError;
}

class ServerHandle implements RedisServerHandle {
  readonly host = LOOPBACK;
  readonly url: string;

  constructor(
    private readonly bin: string,
    readonly port: number,
    private readonly args: readonly string[],
    private current: Spawned,
    /** The cluster bus port, for cluster nodes. */
    readonly busPort?: number,
  ) {
    this.url = `redis://${LOOPBACK}:${port}`;
  }

  get pid(): number {
    return this.current.child.pid ?? -1;
  }

  get running(): boolean {
    return !this.current.hasExited();
  }

  output(): string {
    return this.current.output();
  }

  stop(): Promise<void> {
    return terminate(this.current);
  }

  kill(): Promise<void> {
    return killAndWait(this.current);
  }

  async pause(ms: number): Promise<void> {
    if (!Number.isInteger(ms) || ms < 0) throw new Error(`pause(ms) needs a non-negative integer, got ${ms}`);
    await withClient({ host: this.host, port: this.port }, 2_000, async (client) => {
      await client.call('CLIENT', 'PAUSE', String(ms), 'ALL');
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    // Redis listens with SO_REUSEADDR, so the port is usable again at once; retry briefly all the same
    // in case the kernel has not released it yet.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        this.current = await spawnAndWait(this.bin, this.port, this.args);
        return;
      } catch (error) {
        lastError = error;
        if (!(error instanceof StartFailed && error.portTaken)) throw error;
        await sleep(200);
      }
    }
    throw lastError;
  }
}

/**
 * Starts `redis-server --port P --bind 127.0.0.1 --save "" --appendonly no --daemonize no --loglevel warning`
 * (+ `args`) as a child process and resolves once it answers PING (at most 10 s) and `INFO server` shows
 * that the process answering is the one just spawned. Without `port`, a free port is picked, and another
 * one if that port was taken before the server could bind it.
 */
export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServerHandle> {
  const bin = findRedisServerBinary();
  const args = options.args ?? [];
  if (options.port !== undefined) {
    return new ServerHandle(bin, options.port, args, await spawnAndWait(bin, options.port, args));
  }
  const { port, spawned } = await spawnOnFreePort(bin, () => args);
  return new ServerHandle(bin, port, args, spawned);
}

// ---------------------------------------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------------------------------------

function runCommand(bin: string, args: readonly string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const append = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${bin} ${args.join(' ')} did not finish within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function clusterInfo(node: RedisClusterNode): Promise<string> {
  return withClient(node, 1_000, async (client) => String(await client.call('CLUSTER', 'INFO')));
}

/**
 * Speeds up `redis-cli --cluster create`: it introduces every node to the first one only and then polls once a
 * second until gossip has told every node about every other, which takes 1 to 8 s depending on luck. Once
 * redis-cli has sent its own CLUSTER MEETs (the first node knows more than itself, so redis-cli's checks that
 * the nodes are empty are behind us), each node meets every other directly; a MEET of a known node is a no-op.
 */
async function introduceAllNodes(nodes: RedisClusterNode[], servers: ServerHandle[], creating: Promise<unknown>): Promise<void> {
  let done = false;
  creating.finally(() => {
    done = true;
  }).catch(() => undefined);
  const first = nodes[0];
  if (first === undefined) return;
  while (!done) {
    const info = await clusterInfo(first).catch(() => '');
    const known = Number(/cluster_known_nodes:(\d+)/.exec(info)?.[1] ?? '1');
    if (known > 1) break;
    await sleep(50);
  }
  if (done) return;
  await Promise.all(
    nodes.map((node) =>
      withClient(node, 1_000, async (client) => {
        for (const [i, other] of nodes.entries()) {
          if (other === node) continue;
          await client.call('CLUSTER', 'MEET', other.host, String(other.port), String(servers[i]?.busPort ?? other.port + 10_000));
        }
      }).catch(() => undefined), // only an optimisation: redis-cli and gossip get there anyway
    ),
  );
}

/**
 * Starts `masters` (default 3) cluster-enabled servers, and `replicas` (default 0) more per master, on free
 * loopback ports, joins them with `redis-cli --cluster create ... --cluster-replicas <replicas> --cluster-yes`,
 * and resolves once every node reports `cluster_state:ok` and knows all the others, and every replica's link
 * to its master is up.
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  if (!Number.isInteger(masters) || masters < 3) {
    throw new Error(`startRedisCluster needs at least 3 masters (redis-cli --cluster create refuses fewer), got ${masters}`);
  }
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(`startRedisCluster needs a non-negative integer of replicas per master, got ${replicas}`);
  }
  const total = masters * (1 + replicas);
  const bin = findRedisServerBinary();
  const cli = findRedisCliBinary();

  const dir = await mkdtemp(join(tmpdir(), 'toolkit-redis-cluster-'));
  trackedDirs.add(dir);
  const servers: ServerHandle[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await rm(dir, { recursive: true, force: true });
    trackedDirs.delete(dir);
  };

  try {
    for (let i = 0; i < total; i++) {
      // The cluster bus port defaults to port + 10000, which may be taken or above 65535: pick it as well.
      const busPort = await freePort();
      const clusterArgs = (port: number) => [
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', '2000',
        '--cluster-port', String(busPort),
        '--dir', dir,
        ...(options.args ?? []),
      ];
      const { port, spawned } = await spawnOnFreePort(bin, clusterArgs);
      servers.push(new ServerHandle(bin, port, clusterArgs(port), spawned, busPort));
    }

    const all = servers.map((server) => ({ host: server.host, port: server.port }));
    // redis-cli makes the first `masters` nodes the masters, and the others their replicas.
    const creating = runCommand(
      cli,
      ['--cluster', 'create', ...all.map((node) => `${node.host}:${node.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      CLUSTER_CREATE_TIMEOUT_MS,
    );
    const joined = introduceAllNodes(all, servers, creating);
    const created = await creating;
    await joined;
    if (created.code !== 0) {
      throw new Error(`redis-cli --cluster create failed (exit code ${created.code}):\n${created.output}`);
    }

    const deadline = Date.now() + CLUSTER_READY_TIMEOUT_MS;
    let last = '';
    for (;;) {
      const infos = await Promise.all(all.map((node) => clusterInfo(node).catch((error: Error) => error.message)));
      const links = await Promise.all(
        servers.slice(masters).map((server) =>
          withClient(server, 1_000, async (client) => String(await client.info('replication'))).catch((error: Error) => error.message),
        ),
      );
      const ready =
        infos.every(
          (info) => /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${total}\\b`).test(info) && /cluster_slots_ok:16384\b/.test(info),
        ) && links.every((info) => /master_link_status:up/.test(info));
      if (ready) break;
      last = [
        ...infos.map((info, i) => `${all[i]?.port}: ${info.split(/\r?\n/).slice(0, 7).join(' ')}`),
        ...links.map((info, i) => `${all[masters + i]?.port}: ${/master_link_status:\w+/.exec(info)?.[0] ?? info}`),
      ].join('\n');
      if (Date.now() > deadline) {
        throw new Error(`the test cluster did not reach cluster_state:ok within ${CLUSTER_READY_TIMEOUT_MS} ms:\n${last}`);
      }
      await sleep(100);
    }

    const primaries = servers.slice(0, masters);
    return {
      nodes: all.slice(0, masters),
      urls: primaries.map((server) => server.url),
      servers: primaries,
      replicas: servers.slice(masters),
      dir,
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** A Cluster client with the test defaults (fail fast instead of retrying forever). */
export function testClusterClient(nodes: RedisClusterNode[]): Cluster {
  return new Cluster(nodes, {
    clusterRetryStrategy: (times) => (times > 5 ? null : 100),
    redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 2_000 },
  });
}

/** What {@link privateRedisPerTest} gives a test file. */
export interface PrivateRedisPerTest {
  /** This test's own server (started before it, stopped after it). */
  readonly server: RedisServerHandle;
  /** Cleanups a test registers (clients, caches); run after it, last first, each bounded to 5 s. */
  readonly closers: Array<() => Promise<void> | void>;
}

/**
 * A redis-server of its own for every test of the calling file (never the shared one): started in
 * `beforeEach`, stopped in `afterEach` after the test's `closers`, and any left over killed after the file.
 * Call once at the top level of a test file.
 */
export function privateRedisPerTest(): PrivateRedisPerTest {
  let current: RedisServerHandle | undefined;
  const closers: Array<() => Promise<void> | void> = [];
  beforeEach(async () => {
    current = await startRedisServer();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) {
      await within(Promise.resolve(close()), 5_000, 'a cleanup').catch((error: unknown) => console.error(error));
    }
    await current?.stop();
    current = undefined;
  });
  afterAll(async () => {
    // Only does something if a test failed half-way.
    await killAllTrackedRedisServers();
  });
  return {
    get server() {
      if (current === undefined) throw new Error('privateRedisPerTest().server is only there while a test runs');
      return current;
    },
    closers,
  };
}
