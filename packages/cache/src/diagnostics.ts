import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { Invoke } from './CacheScope';
import type { CacheEvent } from './events/CacheEvents';

/**
 * The `node:diagnostics_channel` channels of `@toolkit/cache`, for APM agents and your own tooling: they
 * see factory runs, L2 operations and cache events with no wiring (`diagnostics_channel.subscribe(name, fn)`).
 * Names follow undici's `module:noun:verb` form; a tracing channel's events are Node's
 * `tracing:<name>:start`, `:end`, `:asyncStart`, `:asyncEnd` and `:error`.
 *
 * Nothing is published, and no context object is made, while a channel has no subscriber.
 *
 * @example
 * import { tracingChannel } from 'node:diagnostics_channel';
 * import { CacheChannel } from '@toolkit/cache';
 *
 * tracingChannel(CacheChannel.LOAD).subscribe({
 *   start: (load) => console.log('loading', load.scope, load.key),
 *   asyncEnd: (load) => console.log('loaded', load.key, 'error' in load ? 'failed' : 'ok'),
 *   end() {},
 *   asyncStart() {},
 *   error() {},
 * });
 */
export const CacheChannel = Object.freeze({
  /** Tracing channel around each run of a factory (a loader) for a key: {@link LoadTrace}. A value the L2 answers runs none. */
  LOAD: 'toolkit:cache:load',
  /** Tracing channel around each operation on the shared layer (L2 store, backplane, lock): {@link L2Trace}. */
  L2: 'toolkit:cache:l2',
  /** Plain channel: every cache event (`CACHE_HIT`, `CACHE_LOAD`, …), the same object the listeners get. */
  EVENT: 'toolkit:cache:event',
});

/** The context of a `toolkit:cache:load` trace; Node adds `result` (what the factory returned) or `error`. */
export interface LoadTrace {
  /** The scope's name (a cached function's scope is named after the function). */
  readonly scope: string;
  /** The full key, as in the cache's events. */
  readonly key: string;
  /** True for a load no caller waits for (refresh-ahead). */
  readonly background: boolean;
  result?: unknown;
  error?: unknown;
}

/** The context of a `toolkit:cache:l2` trace; Node adds `result` (what the store answered) or `error`. */
export interface L2Trace {
  /**
   * `get` (the coalesced lookups of one tick), `getMany`, `set`, `delete`, `setIfAbsent`, `increment`,
   * `deleteByPrefix`, `deleteMatching`, `invalidateTags` (L2 store), `publish` (backplane), `lock`,
   * `unlock` (distributed lock).
   */
  readonly operation: string;
  /** The scope the operation is for; `undefined` when it spans scopes (a tag invalidation, one tick's lookups of several scopes). */
  readonly scope: string | undefined;
  /** How many keys (or tags) the operation names; 0 for a prefix, a pattern or a backplane message. */
  readonly keys: number;
  result?: unknown;
  error?: unknown;
}

const loads = tracingChannel<unknown, LoadTrace>(CacheChannel.LOAD);
const l2 = tracingChannel<unknown, L2Trace>(CacheChannel.L2);
const events = channel(CacheChannel.EVENT);

/** Whether `toolkit:cache:load` has a subscriber: only then call {@link traceLoad}. @internal */
export function loadTraced(): boolean {
  return loads.hasSubscribers;
}

/** `invoke`, each run of it inside a `toolkit:cache:load` trace. @internal */
export function tracedFactory<V, A, B>(invoke: Invoke<V, A, B>, scope: string, key: string, background: boolean): Invoke<V, A, B> {
  return (a, b) => loads.tracePromise(() => Promise.resolve(invoke(a, b)), { scope, key, background });
}

/** Whether `toolkit:cache:l2` has a subscriber. @internal */
export function l2Traced(): boolean {
  return l2.hasSubscribers;
}

/**
 * Runs one shared-layer operation, inside a `toolkit:cache:l2` trace when someone subscribes (else it is
 * `run()` itself: no context object). @internal
 */
export function traceL2<T>(operation: string, scope: string | undefined, keys: number, run: () => Promise<T>): Promise<T> {
  return l2.hasSubscribers ? l2.tracePromise(run, { operation, scope, keys }) : run();
}

/** Whether `toolkit:cache:event` has a subscriber: build an event for it only then. @internal */
export function cacheEventsObserved(): boolean {
  return events.hasSubscribers;
}

/** Publishes a cache event on `toolkit:cache:event` when it has a subscriber. @internal */
export function publishCacheEvent(event: CacheEvent): void {
  if (events.hasSubscribers) events.publish(event);
}
