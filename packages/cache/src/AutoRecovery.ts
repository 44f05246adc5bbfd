import { CacheError } from './errors/CacheError';
import { describe, toMs } from './options/duration';
import type { Duration } from './options/duration';
import type { Clock } from './options/CacheOptions';
import type { SharedErrorReporter } from './SharedLayer';
import type { Backplane, BackplaneMessage, CacheStore, StoredEntry } from './stores/CacheStore';

/**
 * What the cache does with L2 writes, deletes, tag invalidations and backplane messages that failed
 * (an error, a timeout, an open circuit breaker): it keeps them and replays them, in order, once the L2
 * (or the backplane) is usable again. Give `false` to drop them instead (each failure is still reported).
 *
 * @example
 * new Cache({ store, backplane, autoRecovery: { maxItems: 50_000, retryEvery: '2s' } });
 */
export interface AutoRecoveryOptions {
  /**
   * At most this many operations kept, one per key (per tag, per prefix…): a newer operation on a key
   * replaces the one kept for it. Past the bound the oldest is dropped, reported as a `CACHE_L2_ERROR`
   * with operation `'recovery'` and an error of code `E_CACHE_RECOVERY_OVERFLOW`.
   * @default 10_000
   */
  maxItems?: number;
  /**
   * How often a replay is tried while operations are kept. A replay also starts at once when the store
   * or the backplane says it is available again (`onAvailable`, e.g. on reconnection), when the
   * backplane resubscribes, and after any L2 operation that succeeds. Milliseconds or a duration string.
   * @default 1_000
   */
  retryEvery?: Duration;
}

/** Defaults resolved: `undefined` when auto-recovery is off. @internal */
export function resolveAutoRecovery(value: AutoRecoveryOptions | false | undefined): { maxItems: number; retryMs: number } | undefined {
  if (value === false) return undefined;
  if (value === undefined) return { maxItems: 10_000, retryMs: 1_000 };
  if (value === null || typeof value !== 'object') {
    throw new TypeError(`\`autoRecovery\` must be an object or false, got ${describe(value)}`);
  }
  const { maxItems = 10_000, retryEvery = 1_000 } = value;
  if (!Number.isInteger(maxItems) || maxItems < 1) {
    throw new TypeError(`\`autoRecovery.maxItems\` must be a positive integer, got ${describe(maxItems)}`);
  }
  const retryMs = toMs(retryEvery, 'autoRecovery.retryEvery');
  if (!(retryMs > 0) || !Number.isFinite(retryMs)) {
    throw new RangeError(`\`autoRecovery.retryEvery\` must be a positive, finite duration, got ${describe(retryEvery)}`);
  }
  return { maxItems, retryMs };
}

/** The L2 operation owed (its backplane message follows from it). @internal */
export type OwedAction =
  | { readonly op: 'set'; readonly key: string; readonly entry: StoredEntry }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'tag'; readonly tag: string }
  | { readonly op: 'prefix'; readonly prefix: string }
  | { readonly op: 'match'; readonly pattern: string }
  /** A scope cleared: a message only (its L2 part, if any, is a `prefix`). */
  | { readonly op: 'scope'; readonly name: string };

interface Owed {
  readonly action: OwedAction;
  readonly scope: string | undefined;
  /** `'store'`: the L2 operation, then the message; `'publish'`: only the message (the L2 part landed). */
  stage: 'store' | 'publish';
}

/** Items replayed in one store call and one message at most. */
const BATCH = 500;

/** The identity under which an action is kept: one per key (set and delete share it), tag, prefix… */
export function owedId(action: OwedAction): string {
  switch (action.op) {
    case 'set':
    case 'delete':
      return `k\u0000${action.key}`;
    case 'tag':
      return `t\u0000${action.tag}`;
    case 'prefix':
      return `p\u0000${action.prefix}`;
    case 'match':
      return `m\u0000${action.pattern}`;
    case 'scope':
      return `s\u0000${action.name}`;
  }
}

/** The key an event about the action names. */
function subjectOf(action: OwedAction): string {
  switch (action.op) {
    case 'set':
    case 'delete':
      return action.key;
    case 'tag':
      return action.tag;
    case 'prefix':
      return action.prefix;
    case 'match':
      return action.pattern;
    case 'scope':
      return action.name;
  }
}

/** Errors that say nothing of the L2's health (a value the serializer cannot encode): replaying cannot help. */
export const isCallerError = (error: unknown): boolean => error instanceof TypeError || error instanceof RangeError;

/**
 * The operations the shared layer owes the L2 and the backplane, kept in the order they were made (a
 * newer one on the same key replaces the older and moves to the end), and their replay: one at a time,
 * in order, each L2 operation before its message, so that another process told to drop its L1 copy reads
 * the new value from the L2 (never the old one). A write carries its `stamp`: replayed late, it cannot
 * replace a newer value (the store compares stamps). A delete is stamped when it is replayed: that is
 * when the store deletes, so a load that started during the outage cannot land after it.
 * @internal
 */
export class AutoRecovery {
  readonly #owed = new Map<string, Owed>();
  #running: Promise<void> | undefined;
  #again = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(
    private readonly store: CacheStore | undefined,
    private readonly backplane: Backplane | undefined,
    private readonly source: string,
    private readonly report: SharedErrorReporter,
    private readonly maxItems: number,
    private readonly retryMs: number,
    /** The cache's clock: a replayed delete is stamped when it lands, as a write made then would be. */
    private readonly clock: Clock,
  ) {}

  /** How many operations are kept. */
  get size(): number {
    return this.#owed.size;
  }

  /** Keeps `action` for replay, replacing what was kept under the same key; drops the oldest past the bound. */
  owe(action: OwedAction, scope: string | undefined, stage: 'store' | 'publish'): void {
    const id = owedId(action);
    this.#owed.delete(id);
    this.#owed.set(id, { action, scope, stage });
    if (this.#owed.size > this.maxItems) {
      const [oldestId, oldest] = this.#owed.entries().next().value as [string, Owed];
      this.#owed.delete(oldestId);
      const subject = subjectOf(oldest.action);
      const error = new CacheError(
        'E_CACHE_RECOVERY_OVERFLOW',
        `more than ${this.maxItems} failed L2/backplane operations are waiting for replay: the oldest (${oldest.action.op} \`${subject}\`) is dropped`,
        { key: subject, ...(oldest.scope === undefined ? {} : { scope: oldest.scope }) },
      );
      this.report('recovery', error, oldest.scope, subject);
    }
    this.#schedule();
  }

  /**
   * These operations landed directly: what was kept for the same keys is superseded, except a kept write
   * with a later stamp than a direct write (that one is still newer, and is replayed).
   */
  settle(actions: readonly OwedAction[]): void {
    if (this.#owed.size === 0) return;
    for (const action of actions) {
      const id = owedId(action);
      const kept = this.#owed.get(id);
      if (kept === undefined) continue;
      if (action.op === 'set' && kept.action.op === 'set' && (kept.action.entry.stamp ?? -Infinity) > (action.entry.stamp ?? Infinity)) continue;
      this.#owed.delete(id);
    }
  }

  /** Replays what is kept, in order, until done or something fails (then retried later). Never rejects. */
  replay(): Promise<void> {
    if (this.#owed.size === 0 && this.#running === undefined) return Promise.resolve();
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#running = this.#replayAll().finally(() => {
      this.#running = undefined;
      this.#schedule();
    });
    return this.#running;
  }

  /**
   * Stops the retries after a last replay; what is still kept then is dropped and reported (one
   * `CACHE_L2_ERROR`, operation `'recovery'`, code `E_CACHE_RECOVERY_ABANDONED`).
   */
  async close(): Promise<void> {
    await this.replay();
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#owed.size === 0) return;
    const n = this.#owed.size;
    const first = this.#owed.values().next().value as Owed;
    this.#owed.clear();
    this.report(
      'recovery',
      new CacheError('E_CACHE_RECOVERY_ABANDONED', `the cache closed with ${n} failed L2/backplane operation(s) not replayed (the first: ${first.action.op} \`${subjectOf(first.action)}\`)`),
      undefined,
      undefined,
    );
  }

  async #replayAll(): Promise<void> {
    do {
      this.#again = false;
      for (;;) {
        const batch = this.#head();
        if (batch.length === 0) break;
        if (!(await this.#replayBatch(batch))) return; // still down: the timer tries again
      }
    } while (this.#again);
  }

  /** The first kept operations that replay together: same stage, same kind, up to {@link BATCH}. */
  #head(): Owed[] {
    const batch: Owed[] = [];
    for (const owed of this.#owed.values()) {
      const first = batch[0];
      if (first !== undefined && (batch.length >= BATCH || !this.#together(first, owed))) break;
      batch.push(owed);
      if (!batchable(owed.action)) break;
    }
    return batch;
  }

  #together(a: Owed, b: Owed): boolean {
    if (a.stage !== b.stage || !batchable(b.action)) return false;
    if (a.stage === 'store') return a.action.op === b.action.op;
    return messageKind(a.action) === messageKind(b.action);
  }

  async #replayBatch(batch: Owed[]): Promise<boolean> {
    const first = batch[0] as Owed;
    if (first.stage === 'store' && this.store !== undefined) {
      try {
        await this.#storeOp(this.store, batch);
      } catch (error) {
        if (!isCallerError(error)) return false;
        // Replaying cannot fix it: dropped, and said.
        for (const owed of batch) this.#forget(owed);
        this.report('recovery', error, first.scope, batch.length === 1 ? subjectOf(first.action) : undefined);
        return true;
      }
    }
    for (const owed of batch) if (this.#owed.get(owedId(owed.action)) === owed) owed.stage = 'publish';
    if (this.backplane !== undefined) {
      try {
        await this.backplane.publish(this.#message(batch));
      } catch {
        return false;
      }
    }
    for (const owed of batch) this.#forget(owed);
    return true;
  }

  #storeOp(store: CacheStore, batch: Owed[]): Promise<unknown> {
    const action = (batch[0] as Owed).action;
    switch (action.op) {
      case 'set':
        return store.setMany(batch.map((o) => [(o.action as { key: string }).key, (o.action as { entry: StoredEntry }).entry] as const));
      case 'delete':
        return store.deleteMany(batch.map((o) => (o.action as { key: string }).key), this.clock.now());
      case 'tag':
        return store.invalidateTags(batch.map((o) => (o.action as { tag: string }).tag), this.clock.now());
      case 'prefix':
        return store.deleteByPrefix(action.prefix, this.clock.now());
      case 'match':
        return store.deleteMatching(action.pattern, this.clock.now());
      case 'scope':
        return Promise.resolve();
    }
  }

  #message(batch: Owed[]): BackplaneMessage {
    const action = (batch[0] as Owed).action;
    const source = this.source;
    switch (action.op) {
      case 'set':
      case 'delete':
        return { type: 'keys', source, keys: batch.map((o) => (o.action as { key: string }).key) };
      case 'tag':
        return { type: 'tags', source, tags: batch.map((o) => (o.action as { tag: string }).tag) };
      case 'prefix':
        return { type: 'prefix', source, prefix: action.prefix };
      case 'match':
        return { type: 'match', source, pattern: action.pattern };
      case 'scope':
        return { type: 'scope', source, scope: action.name };
    }
  }

  #forget(owed: Owed): void {
    const id = owedId(owed.action);
    if (this.#owed.get(id) === owed) this.#owed.delete(id);
  }

  #schedule(): void {
    if (this.#closed || this.#timer !== undefined || this.#running !== undefined || this.#owed.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.replay();
    }, this.retryMs);
    // A cache that is not closed must not keep the process alive for its retries.
    if (typeof this.#timer === 'object' && typeof this.#timer.unref === 'function') this.#timer.unref();
  }
}

function batchable(action: OwedAction): boolean {
  return action.op === 'set' || action.op === 'delete' || action.op === 'tag';
}

function messageKind(action: OwedAction): string {
  return action.op === 'set' || action.op === 'delete' ? 'keys' : action.op;
}
