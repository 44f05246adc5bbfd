import type { Cache } from '../src/Cache';
import type { CacheEvent } from '../src/events/CacheEvents';

/** A promise with its resolve and reject exposed, to control exactly when a loader settles. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export function defer<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Collects every event a cache emits, for asserting sequences. */
export function recordEvents(cache: Cache): Array<CacheEvent & { reason?: string; timeout?: string; background?: boolean }> {
  const events: CacheEvent[] = [];
  cache.on('*', (event) => events.push(event));
  return events;
}
