import { ResilienceRegistry } from '../src/index';
import type { ResilienceEvent, ResilientOptions } from '../src/index';

export interface RecordedPipeline {
  readonly registry: ResilienceRegistry;
  readonly policy: ReturnType<ResilienceRegistry['resilient']>;
  /** Every event the pipeline emitted, in order. */
  readonly events: ResilienceEvent[];
  /** The recorded events of one type. */
  of<T extends ResilienceEvent['type']>(type: T): Array<Extract<ResilienceEvent, { type: T }>>;
}

/** A fresh registry and pipeline per test; every event it emits is recorded. */
export function recordedPipeline(options: ResilientOptions): RecordedPipeline {
  const events: ResilienceEvent[] = [];
  const registry = new ResilienceRegistry();
  const policy = registry.resilient({ ...options, onEvent: (e) => events.push(e) });
  const of = <T extends ResilienceEvent['type']>(type: T) =>
    events.filter((e): e is Extract<ResilienceEvent, { type: T }> => e.type === type);
  return { registry, policy, events, of };
}
