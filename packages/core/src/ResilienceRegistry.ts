import { Cache, EventBus, describeValue as describe } from '@toolkit/cache';
import type { AttemptContext } from './context';
import { EventType } from './events/ResilienceEvents';
import type { EventTypeName, ResilienceEvent, ResilienceEventMap } from './events/ResilienceEvents';
import type { ResilientOptions } from './options/ResilientOptions';
import { Pipeline } from './Pipeline';
import type { PipelineHost, ResilientFunction } from './Pipeline';
import { CircuitBreaker } from './policies/CircuitBreaker';
import { publishPolicyEvent } from './diagnostics';
import type { CircuitStateName } from './policies/CircuitBreaker';

/**
 * What `resilient(options)` returns: call it with a function to wrap it. Every function it wraps shares
 * its breaker, rate limiter, bulkhead and retry settings; `cache` options give each function its own
 * cache scope.
 */
export interface ResiliencePolicy<A extends unknown[] = unknown[], R = unknown, F = never> {
  /** Wraps `fn`. The result type is `fn`'s, or the fallback's value (`F`, `never` without a fallback). */
  <FA extends A, FR extends R>(fn: (...args: FA) => FR | PromiseLike<FR>): ResilientFunction<FA, Awaited<FR> | F>;
  /**
   * Wraps `fn`, which receives the running attempt's context (`{ signal, attempt, functionName }`) as its
   * first argument, before the call's arguments; callers pass only theirs. The hook-free way to reach
   * the attempt's `signal` anywhere in the function, after any number of `await`s (`attemptSignal()`
   * only knows the attempt during the function's synchronous start). Cache keys are made from the
   * call's arguments alone.
   *
   * @example
   * const getUser = resilient({ retry: { maxAttempts: 3 }, timeout: '2s' }).withContext(
   *   async ({ signal, attempt }, id: number) => {
   *     const token = await auth.token();
   *     const res = await fetch(`https://api.example.com/users/${id}`, { signal, headers: { token } });
   *     return res.json();
   *   },
   * );
   * await getUser(42); // (id: number) => Promise<...>
   */
  withContext<FA extends A, FR extends R>(
    fn: (context: AttemptContext, ...args: FA) => FR | PromiseLike<FR>,
  ): ResilientFunction<FA, Awaited<FR> | F>;
  /** The pipeline's name (`options.name`). */
  readonly pipelineName: string | undefined;
  /** The shared circuit breaker, if any. */
  readonly circuitBreaker: Pipeline['circuitBreaker'];
  /** The shared bulkhead, if any. */
  readonly bulkhead: Pipeline['bulkhead'];
  /** The shared rate limiter, if any. */
  readonly rateLimiter: Pipeline['rateLimiter'];
  /** Listens to the events of every function of this pipeline. Returns an unsubscribe function. */
  on<K extends EventTypeName>(type: K | '*', listener: (event: ResilienceEventMap[K]) => void): () => void;
}

/** One breaker's entry in `registry.health()`. */
export interface BreakerHealth {
  state: CircuitStateName;
  /** The last error (or slow result) the breaker recorded. */
  lastFailure: { error: unknown } | { value: unknown } | undefined;
}

/** Options of a {@link ResilienceRegistry}. */
export interface ResilienceRegistryOptions {
  /** The cache that pipelines with `cache` options create their scopes in. @default a new Cache() */
  cache?: Cache;
  /** Called when an event listener throws or its promise rejects; the call is never affected. @default process.emitWarning */
  onListenerError?: (error: unknown) => void;
}

const warn = (error: unknown) =>
  process.emitWarning(`a @toolkit/core event listener threw: ${error instanceof Error ? error.message : String(error)}`, {
    code: 'TOOLKIT_CORE_LISTENER',
  });

/**
 * Pipelines, breakers and listeners that belong together. The module-level `resilient()` and `on()` use
 * a default registry; create your own to isolate tests or tenants.
 *
 * - Named pipelines (`resilient({ name })`) are shared: `registry.get(name)` returns the pipeline so other
 *   call sites wrap their functions in the same breaker, limiter and bulkhead.
 * - Named breakers (`circuitBreaker: { name }`, or the pipeline's name) are shared by every pipeline that
 *   names them, and reported by `health()`.
 * - `on()` listens to every pipeline of the registry.
 */
export class ResilienceRegistry {
  /** The cache of the registry's pipelines. */
  readonly cache: Cache;
  readonly #bus: EventBus<ResilienceEvent>;
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #breakerOptions = new Map<string, object>();
  readonly #pipelines = new Map<string, ResiliencePolicy>();
  readonly #watchers: Array<WeakRef<() => void>> = [];
  readonly #host: PipelineHost;

  constructor(options: ResilienceRegistryOptions = {}) {
    this.cache = options.cache ?? new Cache();
    const onListenerError = options.onListenerError ?? warn;
    this.#bus = new EventBus<ResilienceEvent>(EventType, onListenerError, () => {
      for (const ref of this.#watchers) ref.deref()?.();
    });
    this.#host = {
      cache: this.cache,
      bus: this.#bus,
      onListenerError,
      breaker: (name, breakerOptions, named) => {
        if (!named) return new CircuitBreaker(name, breakerOptions, (event) => this.#emit(event));
        let breaker = this.#breakers.get(name);
        if (breaker === undefined) {
          breaker = new CircuitBreaker(name, breakerOptions, (event) => this.#emit(event));
          this.#breakers.set(name, breaker);
          this.#breakerOptions.set(name, breakerOptions);
        } else if (!sameOptions(this.#breakerOptions.get(name) ?? {}, breakerOptions)) {
          throw new TypeError(
            `circuit breaker \`${name}\` already exists with other options: configure it once, and share it elsewhere with circuitBreaker: { name: '${name}' }`,
          );
        }
        return breaker;
      },
      watchGlobalListeners: (sync) => {
        // Weak: a registry must not keep every pipeline ever made alive. Dead refs are dropped here.
        for (let i = this.#watchers.length - 1; i >= 0; i--) if (this.#watchers[i]?.deref() === undefined) this.#watchers.splice(i, 1);
        this.#watchers.push(new WeakRef(sync));
      },
    };
  }

  /**
   * A pipeline: `resilient(options)(fn)` wraps `fn` in cache → fallback → breaker → rate limiter →
   * bulkhead → retry → timeout. With a `name`, the pipeline is registered and a second `resilient()` of
   * the same name throws: share it with `registry.get(name)`.
   */
  resilient<A extends unknown[] = unknown[], R = unknown, F = never>(
    options: ResilientOptions<A, R, F> = {},
  ): ResiliencePolicy<A, R, F> {
    if (options.name !== undefined && this.#pipelines.has(options.name)) {
      throw new TypeError(`a pipeline named \`${options.name}\` already exists: share it with registry.get('${options.name}')`);
    }
    const pipeline = new Pipeline(this.#host, options as ResilientOptions);
    const policy = Object.assign(
      <FA extends A, FR extends R>(fn: (...args: FA) => FR | PromiseLike<FR>) =>
        pipeline.wrap<FA, FR>(fn) as ResilientFunction<FA, Awaited<FR> | F>,
      {
        withContext: <FA extends A, FR extends R>(fn: (context: AttemptContext, ...args: FA) => FR | PromiseLike<FR>) =>
          pipeline.wrap(fn as unknown as (...args: FA) => FR | PromiseLike<FR>, true) as ResilientFunction<FA, Awaited<FR> | F>,
        pipelineName: pipeline.name,
        circuitBreaker: pipeline.circuitBreaker,
        bulkhead: pipeline.bulkhead,
        rateLimiter: pipeline.rateLimiter,
        on: pipeline.on.bind(pipeline) as ResiliencePolicy['on'],
      },
    ) as ResiliencePolicy<A, R, F>;
    if (options.name !== undefined) this.#pipelines.set(options.name, policy as unknown as ResiliencePolicy);
    return policy;
  }

  /** The pipeline registered under `name`, or `undefined`. */
  get(name: string): ResiliencePolicy | undefined {
    return this.#pipelines.get(name);
  }

  /** The breaker registered under `name`, or `undefined`. */
  breaker(name: string): CircuitBreaker | undefined {
    return this.#breakers.get(name);
  }

  /** The state of every named breaker, for health checks: `{ payments: { state: 'open', lastFailure } }`. */
  health(): Record<string, BreakerHealth> {
    // Keyed by user-chosen names: no prototype, so a breaker named `__proto__` is listed like any other.
    const out = Object.create(null) as Record<string, BreakerHealth>;
    for (const [name, breaker] of this.#breakers) out[name] = { state: breaker.state, lastFailure: breaker.lastFailure };
    return out;
  }

  /** Listens to the events of every pipeline of this registry (`'*'` for all). Returns an unsubscribe function. */
  on<K extends EventTypeName>(type: K | '*', listener: (event: ResilienceEventMap[K]) => void): () => void {
    if (typeof type !== 'string') throw new TypeError(`an event type must be a string, got ${describe(type)}`);
    return this.#bus.on(type, listener as (event: ResilienceEvent) => void);
  }

  #emit(event: ResilienceEvent): void {
    if (this.#bus.wants(event.type)) this.#bus.emit(event);
    publishPolicyEvent(event);
  }
}

/** Options that only name a breaker, or repeat its options, share it; any other difference is a mistake. */
function sameOptions(first: object, next: object): boolean {
  const a = first as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (key === 'name') continue;
    const x = a[key];
    const y = b[key];
    const equal = Array.isArray(x) && Array.isArray(y) ? x.length === y.length && x.every((v, i) => v === y[i]) : x === y;
    if (!equal) return false;
  }
  return true;
}

/** The registry behind the module-level `resilient()` and `on()`. */
export const defaultRegistry = new ResilienceRegistry();

/**
 * Makes functions resilient: a cache in front (a hit touches nothing else), then fallback, circuit
 * breaker, rate limiter, bulkhead, retry and timeout (on cockatiel), with one typed event stream.
 * Every layer is optional.
 *
 * @example
 * const getProduct = resilient({
 *   cache: { maxSize: 256, ttl: '5m' },
 *   retry: { maxAttempts: 3, delay: '100ms', backoffFactor: 2 },
 *   circuitBreaker: { failureThreshold: 5, halfOpenAfter: '10s' },
 *   timeout: { after: '2s' },
 *   onEvent: (e) => metrics.count(e.type),
 * })(async (id: number) => fetchProduct(id));
 */
export function resilient<A extends unknown[] = unknown[], R = unknown, F = never>(
  options: ResilientOptions<A, R, F> = {},
): ResiliencePolicy<A, R, F> {
  return defaultRegistry.resilient(options);
}

/** Listens to every pipeline made by the module-level `resilient()`. Returns an unsubscribe function. */
export function on<K extends EventTypeName>(type: K | '*', listener: (event: ResilienceEventMap[K]) => void): () => void {
  return defaultRegistry.on(type, listener);
}
