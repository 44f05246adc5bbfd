/** A promise's outcome, captured at once so that no rejection goes unhandled while timers advance. */
export type Outcome<V> = { ok: true; value: V } | { ok: false; error: unknown };

export function outcome<V>(promise: Promise<V>): Promise<Outcome<V>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Whether a promise has settled yet, without waiting for it. */
export function track<V>(promise: Promise<V>) {
  const state = { settled: false, outcome: outcome(promise) };
  void state.outcome.then(() => {
    state.settled = true;
  });
  return state;
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const result = await outcome(promise);
  if (result.ok) throw new Error(`expected a rejection, got ${String(result.value)}`);
  return result.error;
}
