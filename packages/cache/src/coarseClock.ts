import type { Clock } from './options/CacheOptions';

/**
 * The default clock: `Date.now()`, read at most once per millisecond of timer time.
 *
 * `Date.now()` costs about 45 ns, most of a cache hit. This clock keeps the value it read and forgets it
 * when a single timer, created once and re-armed with `refresh()` (no allocation), fires 1 ms later; the
 * timer is unref'd, so it never keeps a process alive. A value can therefore be up to about a
 * millisecond old, or as old as the current run of synchronous code and microtasks when the event loop
 * is busy: an entry may be served that long past its TTL (lru-cache's `ttlResolution` makes the same
 * trade). Fake timers work: the clock notices when `setTimeout` or `Date` was replaced and reads afresh,
 * and advancing fake time fires its timer.
 * @internal
 */
export function coarseClock(): Clock {
  let cached = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerOwner: typeof setTimeout | undefined;
  let dateOwner: DateConstructor | undefined;
  const forget = () => {
    cached = 0;
  };
  return {
    now() {
      if (cached !== 0 && timerOwner === globalThis.setTimeout && dateOwner === globalThis.Date) return cached;
      cached = Date.now();
      if (timer === undefined || timerOwner !== globalThis.setTimeout) {
        timerOwner = globalThis.setTimeout;
        timer = timerOwner(forget, 1);
        // Fake timers may return an object without unref (or a number, in a browser-like environment).
        (timer as { unref?: () => unknown }).unref?.();
      } else {
        timer.refresh();
      }
      dateOwner = globalThis.Date;
      return cached;
    },
  };
}
