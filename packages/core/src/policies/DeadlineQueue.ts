/**
 * An entry of a {@link DeadlineQueue}: the queue sets `deadline` and links it in; `expire()` runs at
 * the deadline unless the entry was removed first.
 * @internal
 */
export interface Deadline {
  /** When the entry expires, on the queue's clock. Set by `add()`. */
  deadline: number;
  /** The neighbours in the queue (set by the queue; `undefined` at the ends and outside it). */
  prev: Deadline | undefined;
  next: Deadline | undefined;
  /** Runs once, at the deadline, after the queue has taken the entry out. */
  expire(): void;
}

/**
 * Deadlines that are all `ms` after their `add()`, served by ONE timer.
 *
 * Entries added with the same `ms` on a clock that never goes back have non-decreasing deadlines, so
 * the queue is a plain first-in first-out list (intrusive, doubly linked: no allocation per entry) and
 * only its head needs a timer. An entry that ends before its deadline is unlinked in O(1) and the timer
 * is left alone (no `clearTimeout`). When the timer fires, every entry whose deadline has passed
 * expires, in order, and the timer is re-armed for the next entry at exactly that entry's deadline: each
 * entry expires at its own deadline (never before it), with `setTimeout`'s precision.
 *
 * While no entry is pending the armed timer is `unref()`'d rather than cleared, so an idle queue never
 * holds the process open; it is `ref()`'d again as soon as an entry arrives, so a pending entry always
 * does. A timer that fires with nothing pending is not re-armed.
 * @internal
 */
export class DeadlineQueue<E extends Deadline> {
  /** How long after its `add()` each entry expires, in ms. */
  readonly ms: number;
  readonly #now: () => number;
  #head: Deadline | undefined;
  #tail: Deadline | undefined;
  #size = 0;
  /** The one timer: armed for the head's deadline or earlier (for an entry since removed). */
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** True while expired entries are being run: `add()` then leaves the arming to `#fire`. */
  #firing = false;

  /**
   * @param ms the delay of every entry, in ms (a whole `setTimeout` delay: 1 to 2^31 − 1)
   * @param now the clock, in ms; it must never go back. The default is the one fake timers control.
   */
  constructor(ms: number, now: () => number = () => performance.now()) {
    this.ms = ms;
    this.#now = now;
  }

  /** The number of pending entries. */
  get size(): number {
    return this.#size;
  }

  /** Appends `entry`, due `ms` from now. */
  add(entry: E): void {
    entry.deadline = this.#now() + this.ms;
    entry.next = undefined;
    const tail = this.#tail;
    entry.prev = tail;
    if (tail === undefined) this.#head = entry;
    else tail.next = entry;
    this.#tail = entry;
    if (++this.#size > 1 || this.#firing) return;
    // The queue was idle. No timer, or none since the last one fired on an empty queue: this entry is
    // the head, due in exactly `ms`. A timer that is still armed (unref'd) fires no later than that.
    if (this.#timer === undefined) this.#timer = setTimeout(this.#fire, this.ms);
    else this.#timer.ref();
  }

  /** Takes `entry` out before its deadline (O(1); the timer is not touched). No-op if it is not queued. */
  remove(entry: E): void {
    if (!this.#unlink(entry)) return;
    if (this.#size === 0 && this.#timer !== undefined) this.#timer.unref();
  }

  #unlink(entry: Deadline): boolean {
    const { prev, next } = entry;
    if (prev === undefined) {
      if (this.#head !== entry) return false;
      this.#head = next;
    } else {
      prev.next = next;
    }
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    entry.prev = entry.next = undefined;
    this.#size--;
    return true;
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#firing = true;
    let failure: { error: unknown } | undefined;
    try {
      const now = this.#now();
      // Re-read the head each turn: an expiring entry may add or remove entries.
      for (let entry = this.#head; entry !== undefined && entry.deadline <= now; entry = this.#head) {
        this.#unlink(entry);
        try {
          entry.expire();
        } catch (error) {
          // One throwing entry must not hold up the others: report the first error once all are done.
          failure ??= { error };
        }
      }
    } finally {
      this.#firing = false;
      const head = this.#head;
      // Rounded up: a timer must never fire before the deadline. Should it fire early all the same (its
      // clock is not ours), the entry is simply not due yet and the timer is re-armed for it.
      if (head !== undefined) this.#timer = setTimeout(this.#fire, Math.max(0, Math.ceil(head.deadline - this.#now())));
    }
    if (failure !== undefined) throw failure.error;
  };
}
