import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import { describeValue } from '@toolkit/cache';
import { parseCacheUrl } from './config/parseCacheUrl';
import type { CacheBackend } from './config/parseCacheUrl';
import type { RedisClient } from './LuaScript';

/** Where to connect, for the `connect()` factories: a cache URL (see `parseCacheUrl`) or a parsed backend. */
export type RedisTarget = string | CacheBackend;

/** ioredis options layered over the ones the `connect()` factories choose. */
export interface RedisClientOptions {
  /**
   * Options for each connection (a standalone client, or every Cluster node), applied over ours:
   * `enableAutoPipelining: true`, `commandTimeout` = the component's `timeoutMs`, `maxRetriesPerRequest: 1`,
   * reconnection every 100 ms to 2 s, forever.
   */
  redisOptions?: RedisOptions;
  /** Options of the Cluster client itself, when the target is a Cluster; applied over ours. */
  clusterOptions?: ClusterOptions;
}

/**
 * A client with the defaults a cache wants: auto-pipelining (concurrent commands leave in one write, per
 * node on a Cluster), a command timeout, few retries per command (a down Redis must fail fast, the cache
 * has L1 and the factory), and reconnection forever so that it recovers by itself.
 * @internal
 */
export function createRedisClient(
  target: RedisTarget,
  settings: { timeoutMs: number; connectionName: string; forSubscriber?: boolean },
  options: RedisClientOptions = {},
): RedisClient {
  const backend = typeof target === 'string' ? parseCacheUrl(target, 'url') : target;
  if (backend === null || typeof backend !== 'object') {
    throw new TypeError(`\`url\` must be a cache URL or a parsed backend, got ${describeValue(backend)}`);
  }
  if (backend.kind === 'memory') {
    throw new TypeError('`url` names the in-memory backend (mem://), which has no Redis: use MemoryStore from @toolkit/cache instead');
  }
  const common: RedisOptions = {
    connectionName: settings.connectionName,
    // A subscriber waits for messages, not for replies: no command timeout there.
    ...(settings.forSubscriber || !Number.isFinite(settings.timeoutMs) ? {} : { commandTimeout: settings.timeoutMs }),
    maxRetriesPerRequest: settings.forSubscriber ? null : 1,
    enableAutoPipelining: !settings.forSubscriber,
    ...(backend.username === undefined ? {} : { username: backend.username }),
    ...(backend.password === undefined ? {} : { password: backend.password }),
    ...(backend.tls ? { tls: {} } : {}),
  };
  const retryStrategy = (times: number) => Math.min(100 * times, 2_000);
  if (backend.kind === 'redis') {
    return new Redis({ ...common, retryStrategy, host: backend.host, port: backend.port, db: backend.db, ...options.redisOptions });
  }
  const { retryStrategy: _ignored, ...redisOptions } = { ...common, ...options.redisOptions };
  return new Cluster(
    backend.nodes.map(({ host, port }) => ({ host, port })),
    {
      enableAutoPipelining: !settings.forSubscriber,
      clusterRetryStrategy: retryStrategy,
      redisOptions,
      ...options.clusterOptions,
    },
  );
}

/** How long `quitClient` waits for the connection to end after `QUIT` before it cuts it. */
const QUIT_GRACE_MS = 2_000;

/**
 * Ends a client's connection: `QUIT` (commands already sent get their answers), then waits (bounded) for
 * the client to reach `'end'`; a client that is not connected is disconnected at once. @internal
 */
export async function quitClient(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    // Not connected (connecting, or reconnecting to a Redis that is down): QUIT would wait in the offline queue.
    client.disconnect();
    return;
  }
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  try {
    await client.quit();
    await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_GRACE_MS)))]);
  } catch {
    // The connection broke while QUIT was on its way.
  } finally {
    clearTimeout(timer);
  }
  if ((client.status as string) !== 'end') client.disconnect();
}
