/** A promise's outcome, readable synchronously as soon as it settles (for timing assertions). */
export type SettledOutcome<V> = { settled: false } | { settled: true; ok: true; value: V } | { settled: true; ok: false; error: unknown };

/** Captures a promise's outcome at once, so that no rejection goes unhandled while timers are advanced. */
export function track<V>(promise: Promise<V>): { readonly outcome: SettledOutcome<V>; done: Promise<void> } {
  const state: { outcome: SettledOutcome<V>; done: Promise<void> } = { outcome: { settled: false }, done: Promise.resolve() };
  state.done = promise.then(
    (value) => {
      state.outcome = { settled: true, ok: true, value };
    },
    (error: unknown) => {
      state.outcome = { settled: true, ok: false, error };
    },
  );
  return state;
}
