/**
 * Counts the AbortControllers and timers created while `run` runs, by wrapping their constructors on
 * `globalThis` for that time (restored afterwards, also on error). `warmUp` runs first with the wrappers
 * in place and is not counted (a clock that notices the replaced `setTimeout` re-creates its one timer).
 */
export async function countAllocations(run: () => Promise<void>, warmUp?: () => Promise<void>): Promise<{ abortControllers: number; timers: number }> {
  const counts = { abortControllers: 0, timers: 0 };
  const Original = globalThis.AbortController;
  const originalSetTimeout = globalThis.setTimeout;
  const originalSetInterval = globalThis.setInterval;
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      counts.abortControllers++;
    }
  };
  globalThis.setTimeout = ((...a: Parameters<typeof setTimeout>) => {
    counts.timers++;
    return originalSetTimeout(...a);
  }) as typeof setTimeout;
  globalThis.setInterval = ((...a: Parameters<typeof setInterval>) => {
    counts.timers++;
    return originalSetInterval(...a);
  }) as typeof setInterval;
  try {
    if (warmUp !== undefined) {
      await warmUp();
      counts.abortControllers = counts.timers = 0;
    }
    await run();
  } finally {
    globalThis.AbortController = Original;
    globalThis.setTimeout = originalSetTimeout;
    globalThis.setInterval = originalSetInterval;
  }
  return counts;
}
