/**
 * jest globalSetup of the `integration` project: decide which Redis the run shares.
 *
 * REDIS_URL (default redis://127.0.0.1:6379) if it answers PING; otherwise a redis-server started here on a
 * free loopback port, stopped by globalTeardown. The chosen URL reaches every test file as
 * TOOLKIT_TEST_REDIS_URL (workers are spawned after this runs and inherit the environment).
 */
import { findRedisServerBinary, redisAnswers, startRedisServer, type RedisServerHandle } from './redisServers';
import { TEST_REDIS_URL_ENV } from './sharedRedis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Where the server this setup started (if any) waits for globalTeardown; same process, same globalThis. */
export const STARTED_SERVER_KEY = Symbol.for('toolkit.test.globalSetup.redisServer');

type Holder = Record<symbol, RedisServerHandle | undefined>;

export function startedServer(): RedisServerHandle | undefined {
  return (globalThis as unknown as Holder)[STARTED_SERVER_KEY];
}

export function setStartedServer(server: RedisServerHandle | undefined): void {
  (globalThis as unknown as Holder)[STARTED_SERVER_KEY] = server;
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export default async function globalSetup(): Promise<void> {
  const fromEnv = process.env.REDIS_URL?.trim();
  const requested = fromEnv || DEFAULT_REDIS_URL;

  if (await redisAnswers(requested, 1_000)) {
    process.env[TEST_REDIS_URL_ENV] = requested;
    console.log(`\n[cache-redis tests] using the shared Redis at ${redactUrl(requested)} (${fromEnv ? 'REDIS_URL' : 'default'})`);
    return;
  }

  try {
    findRedisServerBinary();
  } catch (error) {
    throw new Error(`No Redis answered PING at ${redactUrl(requested)} and none can be started here. ${(error as Error).message}`, {
      cause: error,
    });
  }
  const server = await startRedisServer();
  setStartedServer(server);
  process.env[TEST_REDIS_URL_ENV] = server.url;
  console.log(`\n[cache-redis tests] no Redis answered at ${redactUrl(requested)}: using redis-server pid ${server.pid} started at ${server.url} for this run`);
}
