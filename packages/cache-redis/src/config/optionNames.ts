import { checkOptionKeys } from '@toolkit/cache';
import type { RedisClientOptions } from '../createRedisClient';
import type { RedisBackplaneOptions } from '../RedisBackplane';
import type { RedisBreakerOptions, RedisGuardOptions } from '../RedisGuard';
import type { RedisLockOptions } from '../RedisLock';
import type { RedisStoreOptions } from '../RedisStore';

/*
 * The names of every options object of this package, each a `Record` over its interface's keys, so that
 * a list cannot drift from its type: adding an option that is not listed here does not compile.
 */
const GUARD: Record<keyof RedisGuardOptions, true> = { timeoutMs: true, breaker: true };
const BREAKER: Record<keyof RedisBreakerOptions, true> = { consecutiveFailures: true, halfOpenAfter: true, probeEvery: true };
const CLIENT: Record<keyof RedisClientOptions, true> = { redisOptions: true, clusterOptions: true };

/** The names of {@link RedisStoreOptions}. @internal */
export const STORE_OPTIONS: Record<keyof RedisStoreOptions, true> = {
  ...GUARD,
  client: true,
  prefix: true,
  version: true,
  serializer: true,
  clock: true,
  tombstoneTtl: true,
};
/** The names of {@link RedisStore.connect}'s options. @internal */
export const STORE_CONNECT_OPTIONS: Readonly<Record<string, true>> = { ...without(STORE_OPTIONS, 'client'), ...CLIENT };

/** The names of {@link RedisBackplaneOptions}. @internal */
export const BACKPLANE_OPTIONS: Record<keyof RedisBackplaneOptions, true> = {
  ...GUARD,
  publisher: true,
  subscriber: true,
  prefix: true,
  version: true,
  channel: true,
  onError: true,
};
/** The names of {@link RedisBackplane.connect}'s options. @internal */
export const BACKPLANE_CONNECT_OPTIONS: Readonly<Record<string, true>> = {
  ...without(without(BACKPLANE_OPTIONS, 'publisher'), 'subscriber'),
  ...CLIENT,
};

/** The names of {@link RedisLockOptions}. @internal */
export const LOCK_OPTIONS: Record<keyof RedisLockOptions, true> = { ...GUARD, client: true, prefix: true, version: true };

function without(names: Readonly<Record<string, true>>, name: string): Record<string, true> {
  const { [name]: _dropped, ...rest } = names;
  return rest;
}

/**
 * Refuses an option name that is not one (`timeoutMS`, `breaker.halfOpenAfterMs`), with the closest
 * valid name, before any connection is made. `breaker` is checked too when it is an object.
 *
 * @param options the options as given (not an object: left to the caller's own check)
 * @param names the valid names
 * @param owner `RedisStore`, `RedisBackplane.connect()`, …
 * @throws TypeError naming the unknown option
 * @internal
 */
export function checkRedisOptionNames(options: unknown, names: Readonly<Record<string, true>>, owner: string): void {
  if (options === null || typeof options !== 'object') return;
  checkOptionKeys(options, names, owner);
  const { breaker } = options as RedisGuardOptions;
  if (breaker !== null && typeof breaker === 'object') checkOptionKeys(breaker, BREAKER, owner, 'breaker.');
}
