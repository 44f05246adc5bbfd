import { EPOCH_SPAN, cacheEntry } from './CacheEntry';
import type { CacheEntry } from './CacheEntry';

const fresh = (entry: CacheEntry, now: number) => now - entry.base < entry.expiry;
const NEVER = Number.POSITIVE_INFINITY;
/** Far from any other test's times, so each test starts an epoch of its own. */
let start = 1e13;
const nextStart = () => (start += 4 * EPOCH_SPAN);

describe('cacheEntry', () => {
  it('makes the compact form for a plain expiry: two fields, the expiry a small integer from its epoch', () => {
    const t = nextStart();
    const entry = cacheEntry('v', t + 5_000, t + 5_000, NEVER, []);
    expect(Object.keys(entry)).toEqual(['value', 'expiry']);
    expect(entry.expiry).toBe(0); // the first expiry starts the epoch
    expect(entry.base).toBe(t + 5_000);
    expect({ freshUntil: entry.freshUntil, staleUntil: entry.staleUntil, refreshAt: entry.refreshAt, tags: entry.tags }).toEqual({
      freshUntil: t + 5_000,
      staleUntil: t + 5_000,
      refreshAt: NEVER,
      tags: [],
    });
    const later = cacheEntry('w', t + 65_000, t + 65_000, NEVER, []);
    expect(later.expiry).toBe(60_000);
    expect(Object.getPrototypeOf(later)).toBe(Object.getPrototypeOf(entry));
    expect([fresh(later, t + 64_999), fresh(later, t + 65_000)]).toEqual([true, false]);
  });

  it('makes the full form for a fail-safe window, refresh-ahead, tags, or an expiry in fractions of a ms', () => {
    const t = nextStart();
    const cases: Array<[string, CacheEntry]> = [
      ['fail-safe', cacheEntry(1, t + 10, t + 20, NEVER, [])],
      ['refresh-ahead', cacheEntry(1, t + 10, t + 10, t + 5, [])],
      ['tags', cacheEntry(1, t + 10, t + 10, NEVER, ['user:1'])],
      ['fraction', cacheEntry(1, t + 10.5, t + 10.5, NEVER, [])],
    ];
    for (const [name, entry] of cases) {
      expect([name, Object.keys(entry)]).toEqual([name, ['value', 'expiry', 'staleUntil', 'refreshAt', 'tags']]);
      expect([name, entry.base, entry.expiry]).toEqual([name, 0, entry.freshUntil]);
    }
    const [, tagged] = cases[2]!;
    expect([fresh(tagged, t + 9), fresh(tagged, t + 10)]).toEqual([true, false]);
    expect(cases[0]![1].staleUntil).toBe(t + 20);
    expect(cases[1]![1].refreshAt).toBe(t + 5);
  });

  it('keeps an entry without expiry compact and fresh at any time', () => {
    const entry = cacheEntry('v', NEVER, NEVER, NEVER, []);
    expect(Object.keys(entry)).toEqual(['value', 'expiry']);
    expect(entry.freshUntil).toBe(NEVER);
    expect(entry.staleUntil).toBe(NEVER);
    expect(fresh(entry, Number.MAX_VALUE)).toBe(true);
  });

  it('starts the next epoch at an expiry EPOCH_SPAN past the start; earlier entries keep theirs', () => {
    const t = nextStart();
    const first = cacheEntry('a', t, t, NEVER, []);
    const last = cacheEntry('b', t + EPOCH_SPAN - 1, t + EPOCH_SPAN - 1, NEVER, []);
    expect(last.expiry).toBe(EPOCH_SPAN - 1);
    expect(Object.getPrototypeOf(last)).toBe(Object.getPrototypeOf(first));
    const next = cacheEntry('c', t + EPOCH_SPAN, t + EPOCH_SPAN, NEVER, []);
    expect(Object.getPrototypeOf(next)).not.toBe(Object.getPrototypeOf(first));
    expect([next.base, next.expiry]).toEqual([t + EPOCH_SPAN, 0]);
    // The entries of the first epoch still answer their own times, however far the clock has moved.
    expect([first.freshUntil, last.freshUntil]).toEqual([t, t + EPOCH_SPAN - 1]);
    expect([fresh(last, t + EPOCH_SPAN - 2), fresh(last, t + EPOCH_SPAN - 1), fresh(last, t + 100 * EPOCH_SPAN)]).toEqual([true, false, false]);
    // Within the span before the new start: compact, counted backwards; further behind: the full form.
    const behind = cacheEntry('d', t + 1, t + 1, NEVER, []);
    expect([behind.expiry, behind.freshUntil, Object.keys(behind).length]).toEqual([1 - EPOCH_SPAN, t + 1, 2]);
    const tooFar = cacheEntry('e', t, t, NEVER, []);
    expect([tooFar.base, tooFar.expiry, Object.keys(tooFar).length]).toEqual([0, t, 5]);
  });

  it('holds every compact expiry as an integer of magnitude below 2^30 (a Smi on every V8 build)', () => {
    const t = nextStart();
    for (const offset of [0, 1, 999, EPOCH_SPAN - 1, EPOCH_SPAN, 3 * EPOCH_SPAN + 7, 2 * EPOCH_SPAN + 8]) {
      const entry = cacheEntry(offset, t + offset, t + offset, NEVER, []);
      expect([offset, Object.keys(entry).length, Number.isInteger(entry.expiry) && Math.abs(entry.expiry) < 2 ** 30]).toEqual([offset, 2, true]);
      expect(entry.freshUntil).toBe(t + offset);
    }
  });
});
