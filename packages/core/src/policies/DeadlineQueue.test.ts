import { DeadlineQueue } from './DeadlineQueue';
import type { Deadline } from './DeadlineQueue';

interface TestEntry extends Deadline {
  readonly name: string;
  /** When it expired, on the fake clock; `undefined` while it has not. */
  expiredAt: number | undefined;
}

/** An entry that records when it expires. */
function entry(name: string, onExpire?: () => void): TestEntry {
  const e: TestEntry = {
    name,
    deadline: 0,
    prev: undefined,
    next: undefined,
    expiredAt: undefined,
    expire() {
      e.expiredAt = performance.now();
      onExpire?.();
    },
  };
  return e;
}

/** The timers the queue arms, in order (the returned Node `Timeout` objects). */
function watchTimers() {
  const setSpy = jest.spyOn(globalThis, 'setTimeout');
  const clearSpy = jest.spyOn(globalThis, 'clearTimeout');
  return {
    armed: () => setSpy.mock.results.map((r) => r.value as NodeJS.Timeout),
    delays: () => setSpy.mock.calls.map((c) => c[1]),
    cleared: () => clearSpy.mock.calls.length,
  };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
});

describe('DeadlineQueue', () => {
  it('expires each of many interleaved entries exactly at its own deadline, never a millisecond early', () => {
    const ms = 100;
    const queue = new DeadlineQueue<TestEntry>(ms);
    const t0 = performance.now();
    // 60 entries added at irregular times over 250 ms: several per millisecond, gaps, bursts.
    const starts: number[] = [];
    for (let i = 0, t = 0; i < 60; i++) {
      t += (i * 7) % 11 === 0 ? 0 : (i * 13) % 9; // deterministic, irregular steps (0 to 8 ms)
      starts.push(t);
    }
    const entries = starts.map((_, i) => entry(`e${i}`));
    let next = 0;
    for (let now = 0; now <= starts[starts.length - 1]! + ms + 5; now++) {
      while (next < starts.length && starts[next] === now) queue.add(entries[next++]!);
      jest.advanceTimersByTime(1);
    }
    // Exactly at start + ms: a millisecond early or late would show.
    expect(entries.map((e) => (e.expiredAt === undefined ? undefined : e.expiredAt - t0))).toEqual(starts.map((s) => s + ms));
    expect(new Set(starts).size).toBeGreaterThan(30); // many distinct start times, some shared
    expect(new Set(starts).size).toBeLessThan(60);
    expect(queue.size).toBe(0);
  });

  it('never expires an entry removed before its deadline, wherever it is in the queue', () => {
    const queue = new DeadlineQueue<TestEntry>(50);
    const entries = Array.from({ length: 10 }, (_, i) => entry(`e${i}`));
    for (const e of entries) {
      queue.add(e);
      jest.advanceTimersByTime(3);
    }
    // The head, one in the middle, two neighbours and the tail.
    const removed = [0, 4, 5, 6, 9].map((i) => entries[i]!);
    for (const e of removed) queue.remove(e);
    expect(queue.size).toBe(5);
    queue.remove(removed[0]!); // twice: no-op
    queue.remove(entry('never added')); // never queued: no-op
    expect(queue.size).toBe(5);
    jest.advanceTimersByTime(1000);
    expect(removed.map((e) => e.expiredAt)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(entries.filter((e) => e.expiredAt !== undefined).map((e) => e.name)).toEqual(['e1', 'e2', 'e3', 'e7', 'e8']);
    expect(queue.size).toBe(0);
  });

  it('arms one timer for many pending entries, and never clears it when entries end early', () => {
    const timers = watchTimers();
    const queue = new DeadlineQueue<TestEntry>(1000);
    const entries = Array.from({ length: 100 }, (_, i) => entry(`e${i}`));
    for (const e of entries) queue.add(e);
    expect(timers.armed()).toHaveLength(1);
    for (const e of entries.slice(0, 99)) queue.remove(e);
    expect(timers.cleared()).toBe(0);
    jest.advanceTimersByTime(1000);
    expect(entries[99]?.expiredAt).toBeDefined();
    expect(entries.filter((e) => e.expiredAt !== undefined)).toHaveLength(1);
    expect(timers.armed()).toHaveLength(1); // nothing left: not re-armed
    expect(timers.cleared()).toBe(0);
  });

  it('re-arms for the next live entry at exactly its deadline, skipping entries that ended', () => {
    const timers = watchTimers();
    const queue = new DeadlineQueue<TestEntry>(100);
    const t0 = performance.now();
    const [a, b, c] = [entry('a'), entry('b'), entry('c')];
    queue.add(a); // due at 100
    jest.advanceTimersByTime(30);
    queue.add(b); // due at 130
    jest.advanceTimersByTime(40);
    queue.add(c); // due at 170
    queue.remove(a);
    queue.remove(b);
    jest.advanceTimersByTime(30); // t = 100: the timer armed for a fires, finds nothing due
    expect(timers.delays()).toEqual([100, 70]);
    jest.advanceTimersByTime(69);
    expect(c.expiredAt).toBeUndefined();
    jest.advanceTimersByTime(1);
    expect(c.expiredAt! - t0).toBe(170);
  });

  it("unref()s the armed timer when nothing is pending and ref()s it again when an entry arrives", () => {
    const timers = watchTimers();
    const queue = new DeadlineQueue<TestEntry>(1000);
    const [a, b, c] = [entry('a'), entry('b'), entry('c')];
    queue.add(a);
    const [timer] = timers.armed();
    expect(timer?.hasRef()).toBe(true); // a pending entry holds the process open
    queue.add(b);
    queue.remove(a);
    expect(timer?.hasRef()).toBe(true); // b is still pending
    queue.remove(b);
    expect(timer?.hasRef()).toBe(false); // idle: the timer no longer holds the process open
    jest.advanceTimersByTime(500);
    queue.add(c);
    expect(timers.armed()).toHaveLength(1); // the same timer, ref()'d again
    expect(timer?.hasRef()).toBe(true);
    jest.advanceTimersByTime(500); // the timer fires (at a's deadline) and re-arms for c
    const rearmed = timers.armed()[1];
    expect(rearmed?.hasRef()).toBe(true);
    queue.remove(c);
    expect(rearmed?.hasRef()).toBe(false);
  });

  it('runs an entry added by an expiring entry at its own deadline, with one timer armed at a time', () => {
    const timers = watchTimers();
    const queue = new DeadlineQueue<TestEntry>(100);
    const t0 = performance.now();
    const late = entry('added while expiring');
    const first = entry('first', () => queue.add(late));
    const second = entry('second');
    queue.add(first);
    jest.advanceTimersByTime(40);
    queue.add(second);
    jest.advanceTimersByTime(60);
    expect(first.expiredAt! - t0).toBe(100);
    jest.advanceTimersByTime(40);
    expect(second.expiredAt! - t0).toBe(140);
    jest.advanceTimersByTime(59);
    expect(late.expiredAt).toBeUndefined();
    jest.advanceTimersByTime(1);
    expect(late.expiredAt! - t0).toBe(200);
    expect(timers.delays()).toEqual([100, 40, 60]); // first, then second, then the one added while expiring
  });

  it('arms a single timer for an entry added while the last due one expires', () => {
    const timers = watchTimers();
    const queue = new DeadlineQueue<TestEntry>(100);
    const late = entry('added while expiring');
    queue.add(entry('only', () => queue.add(late)));
    jest.advanceTimersByTime(100);
    expect(timers.delays()).toEqual([100, 100]);
    jest.advanceTimersByTime(100);
    expect(late.expiredAt).toBeDefined();
    expect(timers.delays()).toEqual([100, 100]);
  });

  it('expires the other due entries when one throws, then reports the error', () => {
    const queue = new DeadlineQueue<TestEntry>(10);
    const boom = new Error('boom');
    const entries = [entry('a'), entry('throws', () => { throw boom; }), entry('c')];
    for (const e of entries) queue.add(e);
    const later = entry('later');
    jest.advanceTimersByTime(5);
    queue.add(later);
    expect(() => jest.advanceTimersByTime(5)).toThrow(boom);
    expect(entries.map((e) => e.expiredAt !== undefined)).toEqual([true, true, true]);
    jest.advanceTimersByTime(5);
    expect(later.expiredAt).toBeDefined();
  });

  it('uses the clock it is given', () => {
    let now = 1_000;
    const queue = new DeadlineQueue<TestEntry>(10, () => now);
    const e = entry('e');
    queue.add(e);
    expect(e.deadline).toBe(1_010);
    now = 1_005; // the timer fires at 10 ms, but this clock says only 5 ms passed: not due, re-armed
    jest.advanceTimersByTime(10);
    expect(e.expiredAt).toBeUndefined();
    now = 1_010;
    jest.advanceTimersByTime(5);
    expect(e.expiredAt).toBeDefined();
  });
});
