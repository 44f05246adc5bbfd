/**
 * jest globalTeardown of the `integration` project: stops the redis-server globalSetup started, if it
 * started one. The shared Redis at REDIS_URL is never touched.
 */
import { setStartedServer, startedServer } from './globalSetup';
import { TEST_REDIS_URL_ENV } from './sharedRedis';

export default async function globalTeardown(): Promise<void> {
  const server = startedServer();
  if (server === undefined) return;
  setStartedServer(undefined);
  delete process.env[TEST_REDIS_URL_ENV];
  await server.stop();
}
