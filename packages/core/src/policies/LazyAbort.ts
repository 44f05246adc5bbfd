/**
 * An abort whose `AbortSignal` is only made when someone reads it. Most attempts finish without their
 * signal ever being looked at; for them no `AbortController` is constructed at all.
 *
 * `abort(reason)` before the first read only records the reason: reading `signal` later returns a signal
 * that is already aborted, with that same reason. After the first read, `abort()` aborts the controller,
 * so the signal's listeners run at once, as with a plain `AbortController`.
 * @internal
 */
export class LazyAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  /** The signal, made on first read (already aborted when `abort()` came first). Same object on every read. */
  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = this.#controller = new AbortController();
      if (this.#aborted) controller.abort(this.#reason);
    }
    return controller.signal;
  }

  /** Whether `abort()` was called; reading it makes no signal. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** The reason given to `abort()` (`undefined` until then); reading it makes no signal. */
  get reason(): unknown {
    return this.#reason;
  }

  /** Whether the signal has been made (someone read `signal`). */
  get materialized(): boolean {
    return this.#controller !== undefined;
  }

  /**
   * Aborts with `reason` (a `DOMException` named `AbortError` when it is `undefined`, as
   * `AbortController.abort()` does). Only the first call counts.
   */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.#controller?.abort(this.#reason);
  }
}
