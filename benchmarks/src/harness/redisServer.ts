// A private redis-server for the Redis scenarios: started on a free 127.0.0.1 port (never the shared
// Redis at 6379, which is never flushed, configured or stopped from here), stopped when the scenario
// ends, also on error. Reuses the integration tests' server handling (free port, PING from the right pid,
// SIGTERM then SIGKILL, an exit hook that kills a server left behind).
import { Redis } from 'ioredis';
import { startRedisServer } from '../../../packages/cache-redis/test/redisServers';
import type { RedisServerHandle } from '../../../packages/cache-redis/test/redisServers';

export type { RedisServerHandle };

/**
 * Runs `run` with a private redis-server and stops it afterwards. When no server can be started (no
 * `redis-server` binary, or it failed to start), `skipped(reason)` answers instead: the scenario reports
 * that it did not run, and why, rather than crashing the whole benchmark run.
 */
export async function withPrivateRedis<T>(run: (server: RedisServerHandle) => Promise<T>, skipped: (reason: string) => T): Promise<T> {
  let server: RedisServerHandle;
  try {
    server = await startRedisServer();
  } catch (error) {
    return skipped(error instanceof Error ? error.message.split('\n')[0]! : String(error));
  }
  if (server.host !== '127.0.0.1' || server.port === 6379) {
    await server.stop();
    throw new Error(`refusing to benchmark against ${server.url}: only a private loopback server is used`);
  }
  try {
    return await run(server);
  } finally {
    await server.stop();
  }
}

/** A plain ioredis client (library defaults, no auto-pipelining) that fails fast instead of retrying. */
export function rawClient(url: string, options: { autoPipelining?: boolean } = {}): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, enableAutoPipelining: options.autoPipelining === true, connectionName: 'bench-raw' });
  client.on('error', () => undefined); // a failure surfaces through the rejected command
  return client;
}

/** Ends a client's connection, whatever its state (never throws). */
export async function closeQuietly(client: Redis): Promise<void> {
  try {
    if (client.status === 'ready') await client.quit();
  } catch {
    // Already going away.
  }
  if (client.status !== 'end') client.disconnect();
}

/** `INFO commandstats` as command → calls, read on a connection of its own. */
export async function commandCalls(admin: Redis): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

/** Commands per kind between two `commandCalls` snapshots, leaving out the INFO calls that took them. */
export function commandDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [command, calls] of after) {
    const n = calls - (before.get(command) ?? 0);
    if (n > 0 && command !== 'info') delta.set(command, n);
  }
  return delta;
}

/** Counts the writes to a connected client's socket (one write carries one command, or a whole pipeline). */
export function countSocketWrites(client: Redis): { readonly count: number; restore(): void } {
  const stream = (client as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
  const original = stream.write;
  const counter = { count: 0, restore: () => void (stream.write = original) };
  stream.write = function (this: unknown, ...args: unknown[]) {
    counter.count++;
    return original.apply(this, args);
  };
  return counter;
}
