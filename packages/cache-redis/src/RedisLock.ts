import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { DEFAULT_PREFIX, DEFAULT_VERSION, describeValue, storageNamespace } from '@toolkit/cache';
import type { DistributedLock, LockRelease } from '@toolkit/cache';
import { LOCK_OPTIONS, checkRedisOptionNames } from './config/optionNames';
import { ConnectionWatch } from './ConnectionWatch';
import { LuaScript } from './LuaScript';
import { RedisGuard } from './RedisGuard';
import type { RedisBreakerState, RedisGuardOptions } from './RedisGuard';

/** Options of {@link RedisLock}. */
export interface RedisLockOptions extends RedisGuardOptions {
  /** The ioredis client (it may be the `RedisStore`'s: `store.client`). Not closed by the lock. */
  client: Redis | Cluster;
  /**
   * Key prefix of the namespace, as given to the `RedisStore` (same rules).
   * @default 'svc' (`DEFAULT_PREFIX`)
   */
  prefix?: string;
  /**
   * Version of the namespace, as given to the `RedisStore`.
   * @default 'v1'
   */
  version?: string;
}

/** Deletes the lock only if it still holds our token: a holder whose lock expired cannot free the next holder's. */
const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** Extends the lock's expiry only if it still holds our token: a holder whose lock expired cannot extend the next holder's. */
const RENEW = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

/**
 * A {@link DistributedLock} on Redis, for distributed single-flight: `SET ${prefix}:${version}:l:${key}
 * <random token> NX PX ttl` takes it; the release deletes it only if it still holds that token (a Lua
 * compare-and-delete), so a holder that outlived its `ttl` cannot free the lock another process took
 * since. The release function's `renew(ttl)` extends the lock the same way, only if it still holds the
 * token (a Lua compare-and-`PEXPIRE`); the cache calls it every `ttl / 3` while the factory runs, so a
 * crashed holder's lock frees itself at most `ttl` after its last renewal.
 *
 * One Redis (or one Cluster slot) decides: this is a lock for efficiency (the factory runs once, not N
 * times), not for correctness. If Redis fails over, or the holder pauses past `ttl`, two holders can
 * briefly overlap; the cache stays correct, it only runs the factory twice.
 *
 * @example
 * const lock = new RedisLock({ client: store.client, prefix: 'shop' });
 * const cache = new Cache({ store, backplane, lock, distributedLock: true });
 */
export class RedisLock implements DistributedLock {
  /** The ioredis client. */
  readonly client: Redis | Cluster;

  readonly #guard: RedisGuard;
  readonly #lockPrefix: string;
  readonly #connection: ConnectionWatch;

  /**
   * A lock on a client you own (it may be the store's).
   * @param options the client, namespace, timeout and breaker
   * @throws TypeError naming the option that is wrong
   */
  constructor(options: RedisLockOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`RedisLock options must be an object, got ${describeValue(options)}`);
    }
    checkRedisOptionNames(options, LOCK_OPTIONS, 'RedisLock');
    const { client, prefix = DEFAULT_PREFIX, version = DEFAULT_VERSION } = options;
    if (client === null || typeof client !== 'object' || typeof (client as Partial<Redis>).set !== 'function') {
      throw new TypeError(`\`client\` must be an ioredis Redis or Cluster client, got ${describeValue(client)}`);
    }
    this.#lockPrefix = `${storageNamespace(prefix, version)}l:`;
    this.#guard = new RedisGuard(options);
    this.client = client;
    this.#connection = new ConnectionWatch(client);
  }

  /** The circuit breaker's state. */
  get breakerState(): RedisBreakerState {
    return this.#guard.state;
  }

  /** The Redis key of the lock on `key`: `${prefix}:${version}:l:${key}`. */
  lockKey(key: string): string {
    return this.#lockPrefix + key;
  }

  /**
   * Takes the lock on `key` for `ttlMs` if it is free: resolves to a function that releases it (safe to
   * call more than once, and after expiry), or `undefined` when another holder has it.
   */
  async tryAcquire(key: string, ttlMs: number): Promise<LockRelease | undefined> {
    checkTtl(ttlMs);
    const redisKey = this.lockKey(key);
    const token = randomBytes(16).toString('hex');
    const taken = await this.#run(() => this.client.set(redisKey, token, 'PX', Math.ceil(ttlMs), 'NX'));
    if (taken !== 'OK') return undefined;
    let released = false;
    const release: LockRelease = async () => {
      if (released) return;
      released = true;
      try {
        await this.#run(() => RELEASE.run(this.client, redisKey, [token]));
      } catch (error) {
        released = false; // may be tried again; the lock expires after ttlMs anyway
        throw error;
      }
    };
    release.renew = async (renewMs: number) => {
      checkTtl(renewMs);
      if (released) return false;
      return (await this.#run(() => RENEW.run(this.client, redisKey, [token, String(Math.ceil(renewMs))]))) === 1;
    };
    return release;
  }

  /** Under the timeout and the breaker; an error that holds the password (the connection's AUTH error) never leaves. */
  #run<T>(operation: () => Promise<T>): Promise<T> {
    return this.#guard.run(operation).catch((error: unknown) => {
      throw this.#connection.redact(error);
    });
  }
}

function checkTtl(ttlMs: number): void {
  if (typeof ttlMs !== 'number' || !(ttlMs > 0) || !Number.isFinite(ttlMs)) {
    throw new RangeError(`\`ttlMs\` must be a positive finite number of milliseconds, got ${describeValue(ttlMs)}`);
  }
}
