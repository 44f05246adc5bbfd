import ms from 'ms';

/**
 * A length of time: milliseconds as a number, or a string such as `'250ms'`, `'30s'`, `'5m'`, `'1h'`,
 * `'2d'` (parsed by the `ms` package).
 */
export type Duration = number | string;

/**
 * A time to live: a {@link Duration}, or `0`, `Infinity` or `null` for "never expires"
 * (the entry then leaves only through LRU eviction or invalidation).
 */
export type Ttl = Duration | null;

/**
 * Turns a {@link Duration} into milliseconds, or throws a `TypeError` / `RangeError` naming the option.
 *
 * @param value the duration to parse
 * @param option the option's name, for the error message
 */
export function toMs(value: Duration, option: string): number {
  let parsed: number | undefined;
  if (typeof value === 'number') {
    parsed = value;
  } else if (typeof value === 'string') {
    parsed = value.trim() === '' ? undefined : ms(value as ms.StringValue);
  }
  if (parsed === undefined || Number.isNaN(parsed)) {
    throw new TypeError(
      `\`${option}\` must be a number of milliseconds or a duration string such as '30s' or '5m', got ${describe(value)}`,
    );
  }
  if (parsed < 0) {
    throw new RangeError(`\`${option}\` must not be negative, got ${describe(value)}`);
  }
  return parsed;
}

/** The longest delay a Node.js timer can wait (2³¹−1 ms, about 24.8 days): longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Like {@link toMs}, for a duration that a timer waits: also refuses what a Node.js timer cannot wait
 * (above {@link MAX_TIMER_MS}), which would otherwise fire after 1 ms.
 */
export function timerMs(value: Duration, option: string): number {
  const parsed = toMs(value, option);
  if (parsed > MAX_TIMER_MS) {
    throw new RangeError(
      `\`${option}\` must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest a timer can wait), got ${describe(value)}`,
    );
  }
  return parsed;
}

/** Like {@link toMs}, but `0`, `Infinity` and `null` all mean "never": the result is `Infinity`. */
export function ttlToMs(value: Ttl, option: string): number {
  if (value === null) return Number.POSITIVE_INFINITY;
  const parsed = toMs(value, option);
  return parsed === 0 ? Number.POSITIVE_INFINITY : parsed;
}

/** A short, safe rendering of a user value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
