/**
 * The test infrastructure itself, against real servers: the shared Redis answers, a private server can be
 * killed / restarted / paused, a real 3-master cluster spreads keys over every master, and nothing is left
 * running afterwards.
 */
import { Cluster, Redis } from 'ioredis';
import {
  findRedisServerBinary,
  freePort,
  redisAnswers,
  startRedisCluster,
  startRedisServer,
  trackedRedisPids,
  killAllTrackedRedisServers,
  closeClient,
  REDIS_SERVER_NOT_FOUND,
  type RedisClusterHandle,
  type RedisServerHandle,
} from '../redisServers';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from '../sharedRedis';

// Set here rather than relied on from jest.config.ts: jest-circus reads `testTimeout` from the global config
// only, so the integration project's own `testTimeout` does not apply. Starting a cluster takes 2-3 s.
jest.setTimeout(30_000);

/** A client that fails fast instead of queueing / retrying, always disconnected by `afterEach`. */
const clients: Array<Redis | Cluster> = [];
function client(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function closeClients(): void {
  for (const c of clients.splice(0)) closeClient(c);
}

afterEach(closeClients);

afterAll(async () => {
  // Only matters if a test failed half-way: never leave a server behind.
  await killAllTrackedRedisServers();
});

describe('binaries and ports', () => {
  test('findRedisServerBinary finds redis-server, or says how to install it', () => {
    const saved = { PATH: process.env.PATH, REDIS_SERVER_BIN: process.env.REDIS_SERVER_BIN };
    try {
      expect(findRedisServerBinary()).toMatch(/redis-server$/);
      process.env.PATH = '/nonexistent-dir';
      delete process.env.REDIS_SERVER_BIN;
      expect(() => findRedisServerBinary()).toThrow(REDIS_SERVER_NOT_FOUND);
      expect(REDIS_SERVER_NOT_FOUND).toContain('apt-get install redis-server');
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.REDIS_SERVER_BIN === undefined) delete process.env.REDIS_SERVER_BIN;
      else process.env.REDIS_SERVER_BIN = saved.REDIS_SERVER_BIN;
    }
  });

  test('freePort returns distinct usable loopback ports', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    for (const port of ports) expect(port).toBeGreaterThan(0);
    expect(new Set(ports).size).toBe(3);
  });

  test('redisAnswers is false, quickly, for a port nobody listens on', async () => {
    const started = Date.now();
    expect(await redisAnswers(`redis://127.0.0.1:${await freePort()}`, 300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('shared Redis', () => {
  test('the URL chosen by globalSetup answers PING', async () => {
    const url = testRedisUrl();
    expect(await redisAnswers(url)).toBe(true);
    expect(await client(url).ping()).toBe('PONG');
  });

  test('uniquePrefix never repeats and cleanupPrefix deletes only its own keys', async () => {
    const url = testRedisUrl();
    const mine = uniquePrefix('redisServers helpers');
    const other = uniquePrefix('redisServers helpers');
    expect(mine).not.toBe(other);
    expect(mine).toMatch(/^test:redisServers-helpers:\d+:[0-9a-f]{8}$/);

    const redis = client(url);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 25; i++) pipeline.set(`${mine}:k${i}`, 'v', 'EX', 60);
    pipeline.set(`${other}:k`, 'v', 'EX', 60);
    await pipeline.exec();

    expect(await cleanupPrefix(url, mine)).toBe(25);
    expect(await redis.exists(`${mine}:k0`, `${mine}:k24`)).toBe(0);
    expect(await redis.get(`${other}:k`)).toBe('v');
    expect(await cleanupPrefix(url, other)).toBe(1);
  });
});

describe('a private redis-server', () => {
  let server: RedisServerHandle | undefined;

  afterEach(async () => {
    closeClients(); // before the server goes away
    await server?.stop();
    server = undefined;
  });

  test('kill → PING fails → restart on the same port → PING works again', async () => {
    server = await startRedisServer();
    const { port, url } = server;
    expect(url).toBe(`redis://127.0.0.1:${port}`);
    expect(await redisAnswers(url)).toBe(true);
    const firstPid = server.pid;
    expect(trackedRedisPids()).toContain(firstPid);

    await client(url).set('survives-a-kill?', 'no');
    await server.kill();
    expect(server.running).toBe(false);
    expect(isAlive(firstPid)).toBe(false);
    expect(trackedRedisPids()).not.toContain(firstPid);
    expect(await redisAnswers(url, 300)).toBe(false);

    await server.restart();
    expect(server.running).toBe(true);
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(firstPid);
    expect(await redisAnswers(url)).toBe(true);
    // A fresh process with nothing persisted: the data is gone, as after a real crash without persistence.
    expect(await client(url).get('survives-a-kill?')).toBeNull();
  });

  test('stop() ends the process with SIGTERM and is idempotent', async () => {
    server = await startRedisServer();
    const pid = server.pid;
    await server.stop();
    expect(isAlive(pid)).toBe(false);
    await server.stop();
    await server.kill();
  });

  test('pause(ms) blocks a GET for about that long', async () => {
    server = await startRedisServer();
    const redis = client(server.url);
    await redis.set('k', 'v'); // connected and ready before the pause starts
    const pauseMs = 800;

    await server.pause(pauseMs);
    const started = performance.now();
    expect(await redis.get('k')).toBe('v');
    const elapsed = performance.now() - started;

    expect(elapsed).toBeGreaterThan(pauseMs * 0.8);
    expect(elapsed).toBeLessThan(pauseMs + 2_000);
  });

  test('a port already in use gives a clear error, and no process is left behind', async () => {
    server = await startRedisServer();
    const before = trackedRedisPids();
    await expect(startRedisServer({ port: server.port })).rejects.toThrow(/127\.0\.0\.1:\d+|already/);
    expect(trackedRedisPids()).toEqual(before);
  });
});

describe('a private 3-master Redis Cluster', () => {
  let cluster: RedisClusterHandle | undefined;

  afterAll(async () => {
    closeClients();
    await cluster?.stop();
  });

  test('a Cluster client writes and reads keys spread over all three masters', async () => {
    cluster = await startRedisCluster();
    expect(cluster.nodes).toHaveLength(3);
    expect(new Set(cluster.nodes.map((n) => n.port)).size).toBe(3);

    const redis = new Cluster(cluster.nodes, {
      clusterRetryStrategy: (times) => (times > 5 ? null : 100),
      redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 2_000 },
    });
    redis.on('error', () => undefined);
    clients.push(redis);

    const keys = Array.from({ length: 60 }, (_, i) => `spread:${i}`);
    await Promise.all(keys.map((key, i) => redis.set(key, String(i))));
    expect(await Promise.all(keys.map((key) => redis.get(key)))).toEqual(keys.map((_, i) => String(i)));

    // Every master holds some of them: ask each node directly, without redirection.
    const perNode = await Promise.all(
      cluster.urls.map(async (url) => {
        const node = client(url);
        const slots = await Promise.all(keys.map((key) => node.cluster('KEYSLOT', key)));
        const owned = [] as string[];
        for (const [i, key] of keys.entries()) {
          // A node answers a read of a slot it does not own with MOVED; count what it serves itself.
          const value = await node.get(key).catch(() => undefined);
          if (value !== undefined) owned.push(`${key}@${slots[i]}`);
        }
        return { url, owned: owned.length, dbsize: await node.dbsize() };
      }),
    );
    for (const node of perNode) {
      expect(node.owned).toBeGreaterThan(0);
      expect(node.dbsize).toBe(node.owned);
    }
    expect(perNode.reduce((sum, node) => sum + node.owned, 0)).toBe(keys.length);

    await redis.quit();
    const pids = cluster.servers.map((s) => s.pid);
    const dir = cluster.dir;
    await cluster.stop();
    cluster = undefined;
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    const { existsSync } = await import('node:fs');
    expect(existsSync(dir)).toBe(false);
  });
});

describe('leaks', () => {
  test('every server the helpers started has exited', () => {
    expect(trackedRedisPids()).toEqual([]);
  });
});
