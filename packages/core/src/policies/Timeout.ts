import { TaskCancelledError, TimeoutStrategy, timeout } from 'cockatiel';
import type { TimeoutPolicy } from 'cockatiel';
import { toMs } from '@toolkit/cache';
import type { Duration } from '@toolkit/cache';
import { TimeoutError } from '../errors/TimeoutError';
import { abortError } from './Passthrough';

/**
 * A timeout on cockatiel's `TimeoutPolicy` (aggressive: the caller stops waiting at once, and the
 * attempt's signal aborts so the function can stop its work). Reports our `TimeoutError`, and a caller's
 * abort as the caller's abort reason.
 * @internal
 */
export class Timeout {
  readonly ms: number;
  readonly #policy: TimeoutPolicy;

  constructor(after: Duration, option: string) {
    this.ms = toMs(after, option);
    if (this.ms === 0) throw new RangeError(`\`${option}\` must be greater than 0`);
    // Node fires a timer of more than 2^31 - 1 ms (Infinity included) after 1 ms instead.
    if (this.ms > 2 ** 31 - 1) throw new RangeError(`\`${option}\` must be at most 2147483647 ms (about 24.8 days), got ${this.ms}`);
    // abortOnReturn: false — a returned value may still use the signal (a fetch Response whose body is read later).
    this.#policy = timeout(this.ms, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
  }

  async execute<T>(
    run: (signal: AbortSignal) => Promise<T>,
    callerSignal: AbortSignal,
    context: { functionName: string; attempt?: number; onTimeout: () => void },
  ): Promise<T> {
    try {
      return await this.#policy.execute((ctx) => run(ctx.signal), callerSignal);
    } catch (error) {
      if (!(error instanceof TaskCancelledError)) throw error;
      if (callerSignal.aborted) throw abortError(callerSignal);
      context.onTimeout();
      throw new TimeoutError({ functionName: context.functionName, timeoutMs: this.ms, attempt: context.attempt, cause: error });
    }
  }
}
