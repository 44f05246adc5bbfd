/**
 * Settings of the fast-check property suites of key derivation and templates (test-only; not exported by
 * the package). Bounded runs and a fixed seed, so CI is deterministic; fast-check prints the seed and
 * the path of a failing case, and `FC_SEED=<seed> FC_RUNS=<n>` replays or widens a run.
 * @internal
 */
export const propertySettings = {
  seed: Number(process.env.FC_SEED ?? 20_261_203),
  numRuns: Number(process.env.FC_RUNS ?? 400),
} as const;
