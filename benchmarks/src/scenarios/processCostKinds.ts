// The kinds of call the process-cost scenario runs, one child process each (processCostChild.ts).

/** Every kind, in the scenario's order. `none` runs nothing; the reference runs one AsyncLocalStorage.run(). */
export const KINDS = [
  'none (nothing runs between the two measurements)',
  'resilient({ cache }) miss',
  'resilient({ cache }) hit',
  'resilient({ retry }) with one retry',
  'resilient({ timeout })',
  'resilient({ circuitBreaker })',
  'resilient({ fallback })',
  'resilient({ bulkhead })',
  'resilient({ rateLimiter })',
  'resilient({ cache, retry, circuitBreaker, timeout })',
  'reference: one AsyncLocalStorage.run()',
] as const;
export type Kind = (typeof KINDS)[number];

