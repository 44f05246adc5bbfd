import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import type { CircuitBreakerPolicy } from 'cockatiel';
import { timeoutPolicy } from '@toolkit/core';
import type { AggressiveTimeout } from '@toolkit/core';
import { describeValue, toMs } from '@toolkit/cache';
import type { Duration } from '@toolkit/cache';

/** Default bound of one Redis operation, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 500;

/**
 * When to stop calling a Redis that keeps failing, and when to try it again.
 *
 * @example
 * new RedisStore({ client, breaker: { consecutiveFailures: 3, halfOpenAfter: '10s' } });
 */
export interface RedisBreakerOptions {
  /**
   * Failures in a row (errors or timeouts) that open the circuit: while it is open, operations reject at
   * once, without touching Redis.
   * @default 5
   */
  consecutiveFailures?: number;
  /**
   * How long the circuit stays open before one trial operation is let through (half-open): it closes the
   * circuit if it succeeds, opens it again if it fails. Milliseconds or a duration string. This is the
   * fallback: the circuit closes sooner, as soon as the client reconnects (ioredis `'ready'`) and a `PING`
   * answers.
   * @default 5_000
   */
  halfOpenAfter?: Duration;
  /**
   * While the circuit is open, a `PING` is sent this often (outside the breaker, under the timeout); the
   * first that answers closes the circuit. It covers what a reconnection does not: a Redis that was paused
   * or stopped (SIGSTOP) keeps its connections, so no `'ready'` comes when it answers again. On a Cluster,
   * the store probes each master whose own breaker is open: a `PING` to that node, and a refresh of the
   * slot map (a failover moves the node's keys to its replica, whose breaker is closed).
   * Milliseconds or a duration string; positive and finite. Often enough that a probe is in flight when
   * a paused Redis resumes (it answers it first), so the circuit closes within about this long of it.
   * @default 250
   */
  probeEvery?: Duration;
}

/** Where a circuit breaker stands: `'closed'` lets calls through, `'open'` rejects them, `'half-open'` tries one. */
export type RedisBreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

/** Options shared by every Redis-backed component: a timeout and a circuit breaker around each operation. */
export interface RedisGuardOptions {
  /**
   * Bound of each operation, in milliseconds: past it the operation rejects (and counts as a failure for
   * the breaker) even if Redis never answers. `Infinity` disables it. An operation that timed out may
   * still complete on the server afterwards (a write, for instance): the timeout bounds the caller's wait.
   * @default 500
   */
  timeoutMs?: number;
  /**
   * The circuit breaker around every operation, or `false` for none.
   * @default { consecutiveFailures: 5, halfOpenAfter: 5_000, probeEvery: 250 }
   */
  breaker?: RedisBreakerOptions | false;
}

const STATES: Record<CircuitState, RedisBreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * Errors that say nothing about Redis's health: the caller's mistakes (`TypeError`, `RangeError`, such as
 * incrementing a string or a value JSON cannot encode). They pass through without counting as failures.
 */
const isCallerError = (error: unknown): boolean => error instanceof TypeError || error instanceof RangeError;

/**
 * An aggressive timeout (`timeoutPolicy()` of @toolkit/core) inside a cockatiel circuit breaker, around each
 * Redis operation, so that a slow or down Redis costs at most `timeoutMs` per call, and nothing at all once
 * the breaker is open; the breaker half-opens by itself, so the component recovers when Redis is back.
 * @internal
 */
export class RedisGuard {
  readonly timeoutMs: number;
  /** Replaced by a new (closed) one in {@link recover}: cockatiel has no way to close an open circuit. */
  #breaker: CircuitBreakerPolicy | undefined;
  readonly #newBreaker: (() => CircuitBreakerPolicy) | undefined;
  readonly #timeout: AggressiveTimeout | undefined;
  readonly #onOpen = new Set<() => void>();
  /** How often to probe while the circuit is open; `undefined` without a breaker. */
  readonly probeEveryMs: number | undefined;

  constructor(options: RedisGuardOptions) {
    const { timeoutMs = DEFAULT_TIMEOUT_MS, breaker = {} } = options;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
      throw new TypeError(`\`timeoutMs\` must be a positive number of milliseconds (Infinity for none), got ${describeValue(timeoutMs)}`);
    }
    this.timeoutMs = timeoutMs;
    // Our aggressive timeout (an IPolicy of @toolkit/core) rather than cockatiel's: it arms no timer and
    // creates no AbortController per operation (about 1 µs against 10–15 µs).
    this.#timeout = Number.isFinite(timeoutMs) ? timeoutPolicy(timeoutMs) : undefined;
    if (breaker === false) return;
    if (breaker === null || typeof breaker !== 'object') {
      throw new TypeError(`\`breaker\` must be an object or false, got ${describeValue(breaker)}`);
    }
    const { consecutiveFailures = 5, halfOpenAfter = 5_000, probeEvery = 250 } = breaker;
    if (!Number.isInteger(consecutiveFailures) || consecutiveFailures < 1) {
      throw new TypeError(`\`breaker.consecutiveFailures\` must be a positive integer, got ${describeValue(consecutiveFailures)}`);
    }
    const halfOpenMs = toMs(halfOpenAfter, 'breaker.halfOpenAfter');
    if (!Number.isFinite(halfOpenMs)) {
      throw new RangeError(`\`breaker.halfOpenAfter\` must be finite, got ${describeValue(halfOpenAfter)}`);
    }
    const probeMs = toMs(probeEvery, 'breaker.probeEvery');
    if (!(probeMs > 0) || !Number.isFinite(probeMs)) {
      throw new RangeError(`\`breaker.probeEvery\` must be positive and finite, got ${describeValue(probeEvery)}`);
    }
    this.probeEveryMs = probeMs;
    this.#newBreaker = () => {
      const policy = circuitBreaker(
        handleWhen((error) => !isCallerError(error)),
        { halfOpenAfter: halfOpenMs, breaker: new ConsecutiveBreaker(consecutiveFailures) },
      );
      policy.onBreak(() => {
        for (const listener of [...this.#onOpen]) listener();
      });
      return policy;
    };
    this.#breaker = this.#newBreaker();
  }

  /** The breaker's state; always `'closed'` without a breaker. */
  get state(): RedisBreakerState {
    return this.#breaker === undefined ? 'closed' : STATES[this.#breaker.state];
  }

  /** Runs `operation` under the timeout and the breaker. */
  run<T>(operation: () => Promise<T>): Promise<T> {
    const bounded = this.#timeout === undefined ? operation : () => this.#timeout!.execute(operation);
    return this.#breaker === undefined ? bounded() : this.#breaker.execute(bounded);
  }

  /** Calls `listener` each time the circuit opens; returns a function that stops it. */
  onOpen(listener: () => void): () => void {
    this.#onOpen.add(listener);
    return () => {
      this.#onOpen.delete(listener);
    };
  }

  /**
   * Runs `probe` (a `PING`) under the timeout but outside the breaker; if it answers, the circuit closes
   * (a fresh breaker, its failure count at zero). Resolves to whether it answered; never rejects. For a
   * client that has just reconnected: the circuit need not wait for its half-open timer.
   */
  async recover(probe: () => Promise<unknown>): Promise<boolean> {
    try {
      await (this.#timeout === undefined ? probe() : this.#timeout.execute(probe));
    } catch {
      return false; // still down: the breaker goes on as it was
    }
    if (this.#newBreaker !== undefined && this.state !== 'closed') this.#breaker = this.#newBreaker();
    return true;
  }
}
