import { CacheScope, EventBus, checkOptionKeys, describeValue as describe, raceAbort, uncached } from '@toolkit/cache';
import type { Cache, CacheEvent, CacheEventName, CachedFunction, CachedOptions, Uncached } from '@toolkit/cache';
import { CallState } from './CallState';
import type { CallEvents, CallSite } from './CallState';
import { enterAttempt, leaveAttempt, neverAborted, SoleAttempt } from './context';
import { attemptTraced, callTraced, noteFallback, pipelineTraced, policyEventsObserved, publishPolicyEvent, traceAttempt, traceCall } from './diagnostics';
import { isRateLimitedError } from './errors/RateLimitedError';
import { EventType, resilienceEvent } from './events/ResilienceEvents';
import type { EventTypeName, ResilienceEvent, ResilienceEventMap } from './events/ResilienceEvents';
import { checkMatchers, matchesAny } from './matchers';
import type { ErrorMatcher, FallbackOptions, ResilientOptions } from './options/ResilientOptions';
import { Bulkhead } from './policies/Bulkhead';
import type { CircuitBreaker } from './policies/CircuitBreaker';
import type { LazyAbort } from './policies/LazyAbort';
import { abortError, isAbort, Passthrough } from './policies/Passthrough';
import { RateLimiterPolicy } from './policies/RateLimiterPolicy';
import { Retry } from './policies/Retry';
import { Timeout } from './policies/Timeout';
import type { TimeoutContext } from './policies/Timeout';
import { toMs } from '@toolkit/cache';
import { checkLayerOptionNames, checkLayerOptions } from './options/checkLayerOptions';

/** A function wrapped by `resilient()`: the same parameters, a promise of the same result. */
export interface ResilientFunction<A extends unknown[], R> {
  (...args: A): Promise<R>;
  /**
   * The same function with a caller's `AbortSignal`: aborting rejects the call at once (with the
   * signal's reason), cuts a retry sleep short and aborts the running attempt's signal. With a cache, the
   * shared load others may be waiting for keeps running and fills the cache; only this caller stops.
   */
  withSignal(signal: AbortSignal): (...args: A) => Promise<R>;
  /** The wrapped function's name in events and errors. */
  readonly functionName: string;
  /** The cache layer (a cached function: `.scope.stats()`, `.keyFor(...args)`, `.invalidate()`, `.refresh()`), if any. */
  readonly cache: CachedFunction<A, R> | undefined;
  /** The circuit breaker (`state`, `isolate()`, `reset()`, `toJSON()`), if any. */
  readonly circuitBreaker: CircuitBreaker | undefined;
  /** The bulkhead (`executionSlots`, `queueSlots`), if any. */
  readonly bulkhead: Bulkhead | undefined;
  /** The rate limiter (`availableTokens`, `queueLength`), if any. */
  readonly rateLimiter: RateLimiterPolicy | undefined;
}

/** The names of `resilient()`'s options. */
const RESILIENT_OPTIONS = {
  cache: true,
  retry: true,
  circuitBreaker: true,
  timeout: true,
  fallback: true,
  bulkhead: true,
  rateLimiter: true,
  name: true,
  onEvent: true,
} satisfies Record<keyof ResilientOptions, true>;

/** What a pipeline needs from its registry. @internal */
export interface PipelineHost {
  readonly cache: Cache;
  readonly bus: EventBus<ResilienceEvent>;
  readonly onListenerError: (error: unknown) => void;
  breaker(name: string, options: NonNullable<ResilientOptions['circuitBreaker']>, named: boolean): CircuitBreaker;
  /** Calls `sync` whenever global listeners come or go. */
  watchGlobalListeners(sync: () => void): void;
}

type AnyFallback = FallbackOptions<unknown[], unknown>;

/**
 * One configured pipeline (made by `resilient(options)`): its policies (breaker, rate limiter, bulkhead,
 * retry, timeout) are shared by every function it wraps; each wrapped function gets its own cache scope
 * unless `cache` is a shared scope.
 * @internal use `resilient()`
 */
export class Pipeline {
  readonly name: string | undefined;
  readonly bus: EventBus<ResilienceEvent>;
  readonly circuitBreaker: CircuitBreaker | undefined;
  readonly bulkhead: Bulkhead | undefined;
  readonly rateLimiter: RateLimiterPolicy | undefined;
  readonly #host: PipelineHost;
  readonly #options: ResilientOptions;
  readonly #retry: Retry | undefined;
  readonly #attemptTimeout: Timeout | undefined;
  readonly #callTimeout: Timeout | undefined;
  readonly #ignoreOn: readonly ErrorMatcher[] | undefined;
  readonly #fallback: AnyFallback | undefined;
  readonly #fallbackOn: readonly ErrorMatcher[] | undefined;
  readonly #syncs = new Set<() => void>();
  /** No policy and no fallback: a call nobody listens to runs the function itself, with no {@link CallState}. */
  readonly #bare: boolean;
  /** The breaker → [attempt timeout] → fn part of one attempt (bound once: the breaker calls it per attempt). */
  readonly #timed = (call: CallState): Promise<unknown> => this.#timedAttempt(call);
  /** Held here: the registry watches it through a WeakRef, so it lives exactly as long as the pipeline. */
  readonly #onGlobalListeners = () => this.#syncAll();

  constructor(host: PipelineHost, options: ResilientOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`resilient() takes an options object, got ${describe(options)}`);
    }
    checkOptionKeys(options, RESILIENT_OPTIONS, 'resilient()');
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
      throw new TypeError(`\`name\` must be a non-empty string, got ${describe(options.name)}`);
    }
    checkLayerOptions(options as ResilientOptions<never, unknown>);
    checkLayerOptionNames(options as ResilientOptions<never, unknown>);
    this.#host = host;
    this.#options = options;
    this.name = options.name;
    this.bus = new EventBus<ResilienceEvent>(EventType, host.onListenerError, () => this.#syncAll());
    host.watchGlobalListeners(this.#onGlobalListeners);
    if (options.onEvent !== undefined) this.bus.on('*', options.onEvent);

    if (options.retry !== undefined) this.#retry = new Retry(options.retry, (call) => this.#recorded(call));
    this.#ignoreOn = checkMatchers(options.retry?.ignoreOn, 'retry.ignoreOn');
    if (options.timeout !== undefined) {
      const t = typeof options.timeout === 'object' ? options.timeout : { after: options.timeout };
      if (t.after === undefined) throw new TypeError('`timeout.after` is required: how long an attempt may take');
      if (t.perAttempt === false) this.#callTimeout = new Timeout(t.after, 'timeout.after');
      else this.#attemptTimeout = new Timeout(t.after, 'timeout.after');
    }
    if (options.circuitBreaker !== undefined) {
      const named = options.circuitBreaker.name ?? options.name;
      this.circuitBreaker = host.breaker(named ?? 'circuit', options.circuitBreaker, named !== undefined);
    }
    if (options.bulkhead !== undefined) this.bulkhead = new Bulkhead(options.bulkhead);
    if (options.rateLimiter !== undefined) {
      const { maxCalls, period, maxWait = 0 } = options.rateLimiter;
      this.rateLimiter = new RateLimiterPolicy({
        maxCalls,
        periodMs: toMs(period, 'rateLimiter.period'),
        maxWaitMs: toMs(maxWait, 'rateLimiter.maxWait'),
        functionName: options.name,
      });
    }
    if (options.fallback !== undefined) {
      const f: unknown = options.fallback;
      this.#fallback =
        typeof f === 'object' && f !== null && 'handler' in f ? (f as AnyFallback) : ({ handler: f } as AnyFallback);
      this.#fallbackOn = checkMatchers(this.#fallback.fallbackOn, 'fallback.fallbackOn');
    }
    this.#bare =
      this.#retry === undefined &&
      this.#attemptTimeout === undefined &&
      this.#callTimeout === undefined &&
      this.circuitBreaker === undefined &&
      this.bulkhead === undefined &&
      this.rateLimiter === undefined &&
      this.#fallback === undefined;
  }

  /**
   * Wraps `fn` in this pipeline. With `passContext`, `fn` takes the attempt's {@link AttemptContext} as
   * its first argument, before the call's arguments (`policy.withContext(fn)`).
   */
  wrap<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, passContext = false): ResilientFunction<A, Awaited<R>> {
    if (typeof fn !== 'function') throw new TypeError(`resilient() wraps a function, got ${describe(fn)}`);
    type V = Awaited<R>;
    const functionName = fn.name || this.name || 'anonymous';
    const bus = this.bus;
    const global = this.#host.bus;
    const deliver = (event: ResilienceEvent) => {
      if (bus.wants(event.type)) bus.emit(event);
      if (global.wants(event.type)) global.emit(event);
    };
    const emit = (build: (functionName: string) => ResilienceEvent) => {
      if (!bus.active && !global.active && !policyEventsObserved()) return;
      const event = build(functionName);
      deliver(event);
      publishPolicyEvent(event);
    };
    const events: CallEvents = {
      get active() {
        return bus.active || global.active || policyEventsObserved();
      },
      emit,
    };
    const cacheOption = this.#options.cache as CachedOptions<A, V> | CacheScope<V> | undefined;
    let cached: CachedFunction<A, V> | undefined;
    const keyOf = (args: unknown[]): string | undefined => cached?.keyFor(...(args as A));
    const target = fn as (...args: unknown[]) => unknown;

    const bare = this.#bare;
    const site: CallSite = { functionName, events, keyOf, fn: target, passContext, attempt: this.#timed };
    // The attempt of every call without a caller's signal is the same: attempt 1, a signal that never aborts.
    const sole = new SoleAttempt(neverAborted, functionName);
    const load = (thisArg: unknown, args: A, signal: AbortSignal): Promise<V | Uncached<V>> =>
      (bare && !events.active && !pipelineTraced()
        ? invokeSole(signal === neverAborted ? sole : new SoleAttempt(signal, functionName), target, thisArg, args, passContext)
        : this.#run(new CallState(site, signal, thisArg, args), cached !== undefined)) as Promise<V | Uncached<V>>;

    let wrapped: ResilientFunction<A, V>;
    if (cacheOption !== undefined) {
      const loader = function (this: unknown, ...args: A) {
        return load(this, args, neverAborted);
      };
      Object.defineProperty(loader, 'name', { value: functionName });
      // V is already awaited; cached() would await it again, which TypeScript cannot see is the same type.
      const cacheIt = this.#host.cache.cached.bind(this.#host.cache) as (f: typeof loader, o: object) => CachedFunction<A, V>;
      cached = cacheIt(loader, cacheOption instanceof CacheScope ? { scope: cacheOption, name: functionName } : { name: functionName, ...cacheOption });
      // Forwarded cache events go to listeners only: toolkit:cache:event has them already.
      const forward = forwardCacheEvents(cached.scope, (build) => deliver(build(functionName)), (type) => bus.wants(type) || global.wants(type));
      this.#syncs.add(forward);
      forward();
      const hit = cached;
      wrapped = hit as unknown as ResilientFunction<A, V>;
      Object.defineProperty(wrapped, 'withSignal', {
        value: (signal: AbortSignal) =>
          function (this: unknown, ...args: A) {
            // An already-aborted caller must not start a load (nor take a cached value).
            if (signal.aborted) return Promise.reject(abortError(signal));
            return raceAbort(hit.apply(this, args), signal);
          },
      });
    } else {
      wrapped = function (this: unknown, ...args: A): Promise<V> {
        return load(this, args, neverAborted) as Promise<V>;
      } as ResilientFunction<A, V>;
      Object.defineProperty(wrapped, 'name', { value: functionName });
      Object.defineProperty(wrapped, 'withSignal', {
        value: (signal: AbortSignal) =>
          function (this: unknown, ...args: A) {
            return raceAbort(load(this, args, signal) as Promise<V>, signal);
          },
      });
    }
    Object.defineProperties(wrapped, {
      functionName: { value: functionName, enumerable: true },
      cache: { value: cached, enumerable: true },
      circuitBreaker: { value: this.circuitBreaker, enumerable: true },
      bulkhead: { value: this.bulkhead, enumerable: true },
      rateLimiter: { value: this.rateLimiter, enumerable: true },
    });
    return wrapped;
  }

  /** Listens to the events of every function of this pipeline (`'*'` for all). Returns an unsubscribe function. */
  on<K extends EventTypeName>(type: K | '*', listener: (event: ResilienceEventMap[K]) => void): () => void {
    return this.bus.on(type, listener as (event: ResilienceEvent) => void);
  }

  #syncAll(): void {
    for (const sync of this.#syncs) sync();
  }

  /**
   * Fallback around the policies: SUCCESS, FAILURE or FALLBACK_USED ends every call that ran. Without a
   * fallback and with nobody listening when the call starts, the policies' own promise is the call's.
   */
  #run(call: CallState, hasCache: boolean): Promise<unknown> {
    if (callTraced()) return traceCall(call, () => this.#observed(call, hasCache));
    if (this.#fallback === undefined && !call.observed) return this.#policies(call);
    return this.#observed(call, hasCache);
  }

  async #observed(call: CallState, hasCache: boolean): Promise<unknown> {
    const started = performance.now();
    try {
      const value = await this.#policies(call);
      call.emit((name) =>
        resilienceEvent.SUCCESS(name, { key: call.key(), attempt: call.attempts, durationMs: performance.now() - started }),
      );
      return value;
    } catch (error) {
      const fallback = this.#fallback;
      if (fallback !== undefined && this.#fallbackApplies(error)) {
        noteFallback(call);
        call.emit((name) =>
          resilienceEvent.FALLBACK_USED(name, { key: call.key(), attempt: call.attempts, error, durationMs: performance.now() - started }),
        );
        const handler = fallback.handler;
        const value: unknown = typeof handler === 'function' ? await (handler as (e: unknown, a: unknown[]) => unknown)(error, call.args) : handler;
        return hasCache && fallback.cacheFallback !== true ? uncached(value) : value;
      }
      call.emit((name) =>
        resilienceEvent.FAILURE(name, { key: call.key(), attempt: call.attempts, error, durationMs: performance.now() - started }),
      );
      throw error;
    }
  }

  #fallbackApplies(error: unknown): boolean {
    if (isAbort(error) || matchesAny(this.#ignoreOn, error)) return false;
    return this.#fallbackOn === undefined || matchesAny(this.#fallbackOn, error);
  }

  /** breaker admission → rate limiter → bulkhead → [call timeout] → retry → breaker → [attempt timeout] → fn */
  #policies(call: CallState): Promise<unknown> {
    const breaker = this.circuitBreaker;
    if (breaker !== undefined) {
      try {
        breaker.admit(call.functionName);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const run = this.#limited(call);
    // Only ignoreOn makes Passthroughs (see #timedAttempt): unwrap them before the caller sees them.
    return this.#ignoreOn === undefined ? run : run.catch(unwrapPassthrough);
  }

  #limited(call: CallState): Promise<unknown> {
    const rateLimiter = this.rateLimiter;
    if (rateLimiter === undefined) return this.#isolated(call);
    return rateLimiter.execute(() => this.#isolated(call), call.signal).catch((error: unknown) => {
      if (isRateLimitedError(error)) {
        call.emit((n) => resilienceEvent.RATE_LIMITED(n, { key: call.key(), error }, { retryAfterMs: error.retryAfterMs }));
      }
      throw error;
    });
  }

  #isolated(call: CallState): Promise<unknown> {
    const bulkhead = this.bulkhead;
    if (bulkhead === undefined) return this.#bounded(call);
    return bulkhead.execute(() => this.#bounded(call), call.signal, call.functionName, () =>
      call.emit((n) => resilienceEvent.BULKHEAD_REJECTED(n, { key: call.key() })),
    );
  }

  #bounded(call: CallState): Promise<unknown> {
    const callTimeout = this.#callTimeout;
    if (callTimeout === undefined) return this.#retried(call);
    return callTimeout.execute(this.#underDeadline, call, call.signal, this.#callTimeoutContext);
  }

  /** The layers inside a whole-call timeout, which stop at the call's deadline. */
  readonly #underDeadline = (deadline: LazyAbort, call: CallState): Promise<unknown> => {
    call.inner = deadline.signal;
    return this.#retried(call);
  };

  /** What the whole-call timeout reports: one object for every call (see {@link TimeoutContext}). */
  readonly #callTimeoutContext: TimeoutContext<CallState> = {
    describe: (call) => ({ functionName: call.functionName }),
    abortReason: 'abort', // for the layers inside, the call's deadline is a cancellation
    onTimeout: (call) =>
      call.emit((n) => resilienceEvent.TIMEOUT(n, { key: call.key(), attempt: call.attempts, durationMs: this.#callTimeout?.ms ?? 0 })),
  };

  /**
   * What the per-attempt timeout reports: one object for every attempt. At the deadline the attempt is
   * still the call's last one (the next starts only once this one has rejected), so `call.attempts` is its number.
   */
  readonly #attemptTimeoutContext: TimeoutContext<CallState> = {
    describe: (call) => ({ functionName: call.functionName, attempt: call.attempts }),
    onTimeout: (call) =>
      call.emit((n) => resilienceEvent.TIMEOUT(n, { key: call.key(), attempt: call.attempts, durationMs: this.#attemptTimeout?.ms ?? 0 })),
  };

  /**
   * retry → breaker → [attempt timeout] → fn. The common case runs fused, with one settlement for the
   * three: the first attempt runs outside cockatiel's retry (no `retryOnResult`, nobody listening when
   * the call started) and outside its breaker (closed, no slow-call check); a success is recorded on the
   * breaker and is the call's value. A failure takes the unfused path from there on: the breaker records
   * it, then cockatiel's retry takes it as its own first attempt's outcome (see `Retry.afterFirstFailure`).
   */
  #retried(call: CallState): Promise<unknown> {
    const retry = this.#retry;
    const breaker = this.circuitBreaker;
    // A diagnostics_channel subscriber to attempts sees each one traced: the unfused path traces them.
    if (attemptTraced() || (retry !== undefined && !retry.runsFirstAttemptAlone(call)) || (breaker !== undefined && !breaker.recordsOutside)) {
      return retry === undefined ? this.#recorded(call) : retry.execute(call);
    }
    if (breaker === undefined && retry === undefined) return this.#timedAttempt(call);
    const attemptTimeout = this.#attemptTimeout;
    // With a timeout, its own settlement is the one: it applies what the `then` below would.
    if (attemptTimeout !== undefined) return attemptTimeout.execute(invokeUnder, call, call.inner, this.#fusedTimeoutContext);
    return invoke(call, call.inner).then(breaker?.recordSuccess, (error: unknown) => this.#firstAttemptFailed(call, error));
  }

  /**
   * The first attempt of the fused path (see {@link #retried}) failed: as on the unfused path, `ignoreOn`
   * marks the error, the breaker records it, then retry decides.
   */
  #firstAttemptFailed(call: CallState, error: unknown): Promise<unknown> {
    const failure = this.#passedThrough(error);
    const retry = this.#retry;
    const breaker = this.circuitBreaker;
    if (breaker === undefined) return (retry as Retry).afterFirstFailure(call, failure);
    const recorded = breaker.recordFailure(call, failure);
    return retry === undefined ? recorded : recorded.catch((e: unknown) => retry.afterFirstFailure(call, e));
  }

  /** The attempt timeout's context on the fused path: the breaker's and retry's part of the settlement too. */
  readonly #fusedTimeoutContext: TimeoutContext<CallState> = {
    ...this.#attemptTimeoutContext,
    fulfilled: (_call, value) => (this.circuitBreaker === undefined ? value : this.circuitBreaker.recordSuccess(value)),
    rejected: (call, error) => this.#firstAttemptFailed(call, error),
  };

  /** One attempt: breaker → [attempt timeout] → fn. */
  #recorded(call: CallState): Promise<unknown> {
    return attemptTraced() ? traceAttempt(call, () => this.#breakerAttempt(call)) : this.#breakerAttempt(call);
  }

  #breakerAttempt(call: CallState): Promise<unknown> {
    const breaker = this.circuitBreaker;
    return breaker === undefined ? this.#timedAttempt(call) : breaker.execute(call);
  }

  #timedAttempt(call: CallState): Promise<unknown> {
    const attemptTimeout = this.#attemptTimeout;
    const run =
      attemptTimeout === undefined ? invoke(call, call.inner) : attemptTimeout.execute(invokeUnder, call, call.inner, this.#attemptTimeoutContext);
    if (this.#ignoreOn === undefined) return run;
    return run.catch((error: unknown) => {
      throw this.#passedThrough(error);
    });
  }

  /** ignoreOn covers the function's errors and the attempt's timeout: neither retried nor counted. */
  #passedThrough(error: unknown): unknown {
    return this.#ignoreOn !== undefined && matchesAny(this.#ignoreOn, error) ? new Passthrough(error) : error;
  }
}

/**
 * Starts one attempt of `call` under `from` (its signal, or its timeout's lazy abort): calls the function
 * at once (a load starts in the tick of the call, not after the caller's other work), with a synchronous
 * throw as a rejection. `attemptSignal()` and `currentAttempt()` see this attempt during the function's
 * synchronous start.
 */
function invoke(call: CallState, from: AbortSignal | LazyAbort): Promise<unknown> {
  if (from.aborted) return Promise.reject(abortError(from));
  call.startAttempt(from);
  const previous = enterAttempt(call);
  try {
    const fn = call.fn;
    return Promise.resolve(call.passContext ? fn.call(call.thisArg, call.attemptContext(), ...call.args) : fn.apply(call.thisArg, call.args));
  } catch (error) {
    return Promise.reject(error);
  } finally {
    leaveAttempt(previous);
  }
}

/**
 * The one attempt of a call through a pipeline without policies or fallback, nobody listening: as
 * {@link invoke}, without a {@link CallState} (the function's own promise is the call's).
 */
function invokeSole(attempt: SoleAttempt, fn: (...args: unknown[]) => unknown, thisArg: unknown, args: unknown[], passContext: boolean): Promise<unknown> {
  const signal = attempt.signal;
  if (signal.aborted) return Promise.reject(abortError(signal));
  const previous = enterAttempt(attempt);
  try {
    return Promise.resolve(passContext ? fn.call(thisArg, attempt.attemptContext(), ...args) : fn.apply(thisArg, args));
  } catch (error) {
    return Promise.reject(error);
  } finally {
    leaveAttempt(previous);
  }
}

/** {@link invoke} as a timeout runs an attempt: under its lazy abort. */
function invokeUnder(from: LazyAbort, call: CallState): Promise<unknown> {
  return invoke(call, from);
}

function unwrapPassthrough(error: unknown): never {
  throw error instanceof Passthrough ? error.error : error;
}

/** The cache events a pipeline forwards, and the pipeline event each becomes. */
const FORWARDED = [
  ['CACHE_HIT', 'CACHE_HIT'],
  ['CACHE_MISS', 'CACHE_MISS'],
  ['CACHE_EVICTION', 'CACHE_EVICTION'],
  ['CACHE_REFRESH', 'CACHE_REFRESH'],
  ['CACHE_STALE_HIT', 'CACHE_STALE_HIT'],
  // CACHE_LOAD_ERROR is not forwarded: the pipeline reports its own outcome (FAILURE), with attempts and error.
  ['CACHE_TIMEOUT', 'TIMEOUT'],
] as const satisfies ReadonlyArray<readonly [CacheEventName, EventTypeName]>;

/**
 * Forwards a scope's cache events into the pipeline's stream. The returned sync subscribes to the scope
 * only for the types whose pipeline event someone `wants`, so that the scope builds no event of the
 * others (a hit builds nothing unless CACHE_HIT or `'*'` has a listener); call it when listeners change.
 */
function forwardCacheEvents(
  scope: CacheScope<unknown>,
  emit: (build: (fn: string) => ResilienceEvent) => void,
  wants: (type: EventTypeName) => boolean,
): () => void {
  const relay = (event: CacheEvent) => {
    switch (event.type) {
      case 'CACHE_HIT':
      case 'CACHE_MISS':
      case 'CACHE_EVICTION':
        return emit((fn) => resilienceEvent[event.type](fn, { key: event.key }));
      case 'CACHE_REFRESH':
        return emit((fn) => resilienceEvent.CACHE_REFRESH(fn, { key: event.key, durationMs: event.durationMs }));
      case 'CACHE_STALE_HIT':
        return emit((fn) => resilienceEvent.CACHE_STALE_HIT(fn, { key: event.key, error: event.error }, { reason: event.reason }));
      case 'CACHE_TIMEOUT':
        return emit((fn) => resilienceEvent.TIMEOUT(fn, { key: event.key, durationMs: event.durationMs }));
      default:
        return undefined;
    }
  };
  const unsubscribes: Array<(() => void) | undefined> = FORWARDED.map(() => undefined);
  return () => {
    FORWARDED.forEach(([from, to], i) => {
      const on = wants(to);
      const unsubscribe = unsubscribes[i];
      if (on && unsubscribe === undefined) unsubscribes[i] = scope.on(from, relay);
      else if (!on && unsubscribe !== undefined) {
        unsubscribe();
        unsubscribes[i] = undefined;
      }
    });
  };
}

