/**
 * Connection failures carry their cause: a wrong password (a private redis-server with `requirepass`), a
 * TLS server with a self-signed certificate, a port nobody listens on. Each reaches the cache's event stream as
 * `CACHE_L2_ERROR` with `operation: 'connection'` and the client's own message, and `ping()` rejects with
 * a `RedisConnectionError` naming it — never with the password in any message, stack or cause.
 *
 * Every server is started by this file (never the shared one); every handle is closed, bounded in time.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { CacheEvent, CacheEventMap } from '@toolkit/cache';
import { RedisConnectionError, RedisStore, createCache, isRedisConnectionError } from '@toolkit/cache-redis';
import type { CacheHandle } from '@toolkit/cache-redis';
import { closeClient, freePort, killAllTrackedRedisServers, startRedisServer, within } from '../redisServers';
import type { RedisServerHandle } from '../redisServers';

const PASSWORD = 'S3cret-Pw-9f2c';
const WRONG_PASSWORD = 'wrong-Pw-77ab';
const CALL_LIMIT_MS = 5_000;

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Everything an error says about itself, its cause and its operation error, as text. */
function allText(error: unknown, depth = 0): string {
  if (depth > 4 || error === null || error === undefined) return '';
  if (!(error instanceof Error)) return String(error);
  const e = error as Error & { operationError?: unknown };
  return [e.name, e.message, e.stack, JSON.stringify(e), allText(e.cause, depth + 1), allText(e.operationError, depth + 1)].join('\n');
}

let server: RedisServerHandle;
const closers: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  server = await startRedisServer();
  // Set the password after the start (the start-up check pings without one).
  const admin = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  admin.on('error', () => undefined);
  await admin.config('SET', 'requirepass', PASSWORD);
  closeClient(admin);
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await within(Promise.resolve(close())).catch((error: unknown) => console.error(error));
});

afterAll(async () => {
  await server.stop();
  await killAllTrackedRedisServers(); // only does something if a test failed half-way
});

/**
 * A redis-server that also listens with TLS on `tlsPort`, with a fresh self-signed certificate (openssl),
 * which a client without that certificate as CA refuses. Stopped, and its files removed, after the test.
 */
async function startTlsServer(): Promise<{ tlsPort: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'toolkit-tls-'));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], {
    stdio: 'ignore',
    timeout: 10_000,
  });
  const tlsPort = await freePort();
  const tlsServer = await startRedisServer({
    args: ['--tls-port', String(tlsPort), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no'],
  });
  closers.push(() => tlsServer.stop());
  return { tlsPort };
}

/** A cache as an app builds it, from a URL, recording its events. */
function open(url: string): { handle: CacheHandle; events: CacheEvent[] } {
  const events: CacheEvent[] = [];
  const handle = createCache({ CACHE_URL: url, CACHE_PREFIX: 'conn' }, { onEvent: (e) => events.push(e) });
  closers.push(() => handle.close());
  return { handle, events };
}

const connectionEvents = (events: CacheEvent[]) =>
  events.filter((e): e is CacheEventMap['CACHE_L2_ERROR'] => e.type === 'CACHE_L2_ERROR' && e.operation === 'connection');

/** Waits (bounded) until the cache has reported a connection error. */
async function firstConnectionEvent(events: CacheEvent[]): Promise<CacheEventMap['CACHE_L2_ERROR']> {
  const deadline = Date.now() + CALL_LIMIT_MS;
  while (connectionEvents(events).length === 0) {
    if (Date.now() > deadline) throw new Error(`no connection event within ${CALL_LIMIT_MS} ms; events: ${JSON.stringify(events.map((e) => e.type))}`);
    await sleep(20);
  }
  return connectionEvents(events)[0]!;
}

async function pingError(handle: CacheHandle): Promise<RedisConnectionError> {
  const outcome = await within(handle.ping()).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(RedisConnectionError);
  return outcome as RedisConnectionError;
}

describe('connection errors reach the event stream and ping() with their cause (private redis-server)', () => {
  it('the right password works: ping resolves and nothing is reported (the control for the next test)', async () => {
    const { handle, events } = open(`redis://:${PASSWORD}@127.0.0.1:${server.port}`);
    await within(handle.ping());
    await within(handle.cache.ready);
    expect(await within(handle.cache.scope('s').getOrSet('k', async () => 'v'))).toBe('v');
    expect(connectionEvents(events)).toEqual([]);
  });

  it('a wrong password: the WRONGPASS reply is an event and the reason ping() gives; the password is in neither', async () => {
    const { handle, events } = open(`redis://:${WRONG_PASSWORD}@127.0.0.1:${server.port}`);
    const event = await firstConnectionEvent(events);
    expect(event).toMatchObject({ scope: '', key: '', operation: 'connection' });
    expect(isRedisConnectionError(event.error)).toBe(true);
    expect((event.error as Error).message).toMatch(/^the Redis connection failed: WRONGPASS invalid username-password pair/);

    const error = await pingError(handle);
    expect(error).toMatchObject({ name: 'RedisConnectionError', code: 'E_REDIS_CONNECTION', operation: 'ping' });
    expect(error.message).toMatch(/^`ping` failed: the Redis connection failed: WRONGPASS invalid username-password pair/);
    expect((error.cause as Error).message).toMatch(/^WRONGPASS/);
    expect(error.operationError).toBeInstanceOf(Error);

    // Operations fail too (the cache answers from the factory); their errors, reported as events, may be
    // the AUTH reply itself, which carries the AUTH command's arguments: redacted as well.
    expect(await within(handle.cache.scope('s').getOrSet('k', async () => 'from the factory', { distributedLock: true }))).toBe('from the factory');
    await within(handle.cache.ready);
    // (With auto-recovery, the failed set's publish waits for the set to land: no publish error then.)
    expect([...new Set(events.filter((e) => e.type === 'CACHE_L2_ERROR').map((e) => (e as { operation?: string }).operation))]).toEqual(
      expect.arrayContaining(['connection', 'subscribe', 'get', 'lock', 'set']),
    );

    // Not once per reconnection attempt: once per distinct error per connection (store, publisher, subscriber).
    await sleep(1_000);
    expect(connectionEvents(events).length).toBeLessThanOrEqual(3);
    for (const text of [...events.map((e) => allText((e as { error?: unknown }).error)), allText(error)]) {
      expect(text).not.toContain(WRONG_PASSWORD);
      expect(text).not.toContain(PASSWORD);
    }
  });

  it('a TLS server whose certificate does not verify (self-signed): the certificate failure is named, not a timeout', async () => {
    const tls = await startTlsServer();
    const { handle, events } = open(`rediss://:${PASSWORD}@127.0.0.1:${tls.tlsPort}`);
    const event = await firstConnectionEvent(events);
    expect((event.error as Error).message).toBe('the Redis connection failed: self-signed certificate');
    expect((event.error as Error).cause).toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    const error = await pingError(handle);
    expect(error.message).toBe('`ping` failed: the Redis connection failed: self-signed certificate');
    expect(allText(error)).not.toContain(PASSWORD);
  });

  it('a port nobody listens on: ECONNREFUSED is named', async () => {
    const port = await freePort();
    const { handle, events } = open(`redis://:${PASSWORD}@127.0.0.1:${port}`);
    const event = await firstConnectionEvent(events);
    expect((event.error as Error).message).toBe(`the Redis connection failed: connect ECONNREFUSED 127.0.0.1:${port}`);
    const error = await pingError(handle);
    expect(error.message).toBe(`\`ping\` failed: the Redis connection failed: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(allText(error)).not.toContain(PASSWORD);
  });

  it('a connection error whose text holds the password is redacted before anyone sees it', async () => {
    const client = new Redis({ host: '127.0.0.1', port: server.port, password: PASSWORD, lazyConnect: true });
    closers.push(() => closeClient(client));
    const store = new RedisStore({ client });
    const seen: Error[] = [];
    const stop = store.onConnectionError((error) => seen.push(error));
    client.emit('error', new Error(`AUTH ${PASSWORD} refused by proxy`));
    client.emit('error', new Error(`AUTH ${PASSWORD} refused by proxy`)); // the same again: not repeated
    stop();
    client.emit('error', new Error('after stop')); // no longer listened to
    expect(seen.map((e) => e.message)).toEqual(['the Redis connection failed: AUTH *** refused by proxy']);
    expect(seen.map(allText).join('\n')).not.toContain(PASSWORD);
  });
});
