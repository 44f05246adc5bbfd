import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { CallState } from './CallState';
import type { ResilienceEvent } from './events/ResilienceEvents';

/**
 * The `node:diagnostics_channel` channels of `@toolkit/core`, beside `@toolkit/cache`'s (`CacheChannel`):
 * every `resilient()` call and attempt, and every policy event, for APM agents and your own tooling. Names
 * follow undici's `module:noun:verb` form; a tracing channel's events are Node's `tracing:<name>:start`,
 * `:end`, `:asyncStart`, `:asyncEnd` and `:error`.
 *
 * Nothing is published, and no context object is made, while a channel has no subscriber. A cache hit
 * runs no pipeline call: it is on `toolkit:cache:event` only.
 *
 * @example
 * import { subscribe } from 'node:diagnostics_channel';
 * import { PipelineChannel } from '@toolkit/core';
 *
 * subscribe(PipelineChannel.POLICY_EVENT, (event) => console.log(event.type, event.functionName));
 */
export const PipelineChannel = Object.freeze({
  /** Tracing channel around each call that runs a pipeline (a cache miss's load, or any call without a cache): {@link CallTrace}. */
  CALL: 'toolkit:pipeline:call',
  /**
   * Tracing channel around each attempt of a call (breaker, attempt timeout, the function): {@link AttemptTrace}.
   * An attempt the breaker refuses is traced too (its error a `CircuitOpenError`), not counted in the call's `attempts`.
   */
  ATTEMPT: 'toolkit:pipeline:attempt',
  /** Plain channel: every policy event (`RETRY`, `SUCCESS`, `CIRCUIT_OPEN`, …), the objects the listeners get. */
  POLICY_EVENT: 'toolkit:policy:event',
});

/** The context of a `toolkit:pipeline:call` trace; Node adds `result` or `error`. */
export interface CallTrace {
  /** The wrapped function's name. */
  readonly functionName: string;
  /** The call's cache key, when the pipeline has a cache. */
  readonly key: string | undefined;
  /** Attempts the call made: 0 until it settles. */
  attempts: number;
  /** How it ended, set before `asyncStart`: `success`, `failure`, or `fallback` (the fallback answered). */
  outcome: 'success' | 'failure' | 'fallback' | undefined;
  result?: unknown;
  error?: unknown;
}

/** The context of a `toolkit:pipeline:attempt` trace; Node adds `result` or `error`. */
export interface AttemptTrace {
  readonly functionName: string;
  /** The attempt's number, from 1. */
  readonly attempt: number;
  /** How it ended, set before `asyncStart`: `success` or `failure` (`error` says which). */
  outcome: 'success' | 'failure' | undefined;
  result?: unknown;
  error?: unknown;
}

const calls = tracingChannel<unknown, CallTrace>(PipelineChannel.CALL);
const attempts = tracingChannel<unknown, AttemptTrace>(PipelineChannel.ATTEMPT);
const policyEvents = channel(PipelineChannel.POLICY_EVENT);
/** Calls (being traced) that a fallback answered. */
const fellBack = new WeakSet<CallState>();

/** Whether a call or an attempt is traced: a call then runs through the pipeline's full path. @internal */
export function pipelineTraced(): boolean {
  return calls.hasSubscribers || attempts.hasSubscribers;
}

/** Whether `toolkit:pipeline:call` has a subscriber: only then call {@link traceCall}. @internal */
export function callTraced(): boolean {
  return calls.hasSubscribers;
}

/** Runs `run`, the whole of `call`, inside a `toolkit:pipeline:call` trace. @internal */
export function traceCall(call: CallState, run: () => Promise<unknown>): Promise<unknown> {
  const context: CallTrace = { functionName: call.functionName, key: call.key(), attempts: 0, outcome: undefined };
  return calls.tracePromise(() => {
    const settle = (outcome: CallTrace['outcome']) => {
      context.attempts = call.attempts;
      context.outcome = fellBack.has(call) ? 'fallback' : outcome;
    };
    return run().then(
      (value) => {
        settle('success');
        return value;
      },
      (error: unknown) => {
        settle('failure');
        throw error;
      },
    );
  }, context);
}

/** Notes that a fallback answered `call`, for its `toolkit:pipeline:call` outcome. @internal */
export function noteFallback(call: CallState): void {
  if (calls.hasSubscribers) fellBack.add(call);
}

/** Whether `toolkit:pipeline:attempt` has a subscriber: only then call {@link traceAttempt}. @internal */
export function attemptTraced(): boolean {
  return attempts.hasSubscribers;
}

/** Runs `run`, the next attempt of `call`, inside a `toolkit:pipeline:attempt` trace. @internal */
export function traceAttempt(call: CallState, run: () => Promise<unknown>): Promise<unknown> {
  const context: AttemptTrace = { functionName: call.functionName, attempt: call.attempts + 1, outcome: undefined };
  return attempts.tracePromise(
    () =>
      run().then(
        (value) => {
          context.outcome = 'success';
          return value;
        },
        (error: unknown) => {
          context.outcome = 'failure';
          throw error;
        },
      ),
    context,
  );
}

/** Whether `toolkit:policy:event` has a subscriber: build an event for it only then. @internal */
export function policyEventsObserved(): boolean {
  return policyEvents.hasSubscribers;
}

/** Publishes a policy event on `toolkit:policy:event` when it has a subscriber. @internal */
export function publishPolicyEvent(event: ResilienceEvent): void {
  if (policyEvents.hasSubscribers) policyEvents.publish(event);
}
