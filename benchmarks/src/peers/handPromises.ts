// A contender of the memory scenario only (not in memoizers.ts, so the speed scenarios do not run it):
// quick-lru used by hand to memoize an async function's promises, as a service would write it (which also
// joins concurrent calls): the cache holds the promise, and a rejected one is deleted.
import QuickLRU from 'quick-lru';
import type { Memoizer, MemoizerOptions } from './memoizers';

export const HAND_PROMISES = 'quick-lru memoizing promises by hand';

export function handPromises<V>(load: (id: number) => Promise<V>, options: MemoizerOptions): Memoizer<V> {
  const lru = new QuickLRU<number, Promise<V>>({ maxSize: options.maxSize, maxAge: options.ttlMs });
  return {
    name: HAND_PROMISES,
    note: 'quick-lru (maxSize, maxAge) of the promises, keyed by the number; a rejected promise is deleted',
    call: (id) => {
      let promise = lru.get(id);
      if (promise === undefined) {
        promise = load(id);
        lru.set(id, promise);
        promise.catch(() => lru.delete(id));
      }
      return promise;
    },
  };
}
