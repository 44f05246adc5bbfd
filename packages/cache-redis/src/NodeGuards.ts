// The types of cluster-key-slot, found from here by any program that compiles this file (README snippet checks too).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- an ambient module declaration cannot be imported
/// <reference path="./clusterKeySlot.d.ts" />
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import { RedisGuard } from './RedisGuard';
import type { RedisBreakerState, RedisGuardOptions } from './RedisGuard';
import { notifyListeners } from './notifyListeners';

/** The owner of slots the client has no map for yet (before its first `CLUSTER SLOTS`). */
const UNKNOWN_OWNER = '?';

/** How bad a state is, to report the worst of several breakers. */
const SEVERITY: Record<RedisBreakerState, number> = { closed: 0, 'half-open': 1, open: 2, isolated: 3 };

/** Keys of one owner in a batch: the node, its guard, and the keys' positions in the batch. */
export interface NodeGroup {
  readonly node: string;
  readonly guard: RedisGuard;
  readonly indexes: number[];
}

/**
 * One {@link RedisGuard} per slot owner of a Cluster (its master, keyed `"host:port"` as ioredis' slot map
 * `cluster.slots` names it), so that a node that fails opens only its own breaker: keys owned by the other
 * masters keep their L2. A key's guard is looked up by its slot (`cluster-key-slot`, the function ioredis
 * routes by) at each call, so when a failover moves slots to the promoted replica, their keys go to that
 * node's guard (a new one, closed) as soon as the client's slot map says so.
 *
 * While a node's circuit is open, every `breaker.probeEvery` the client's slot map is refreshed (a failover
 * may have moved the node's slots: they then leave its guard, which is dropped) and the node is sent a
 * `PING` (the node itself, not the Cluster: a PING answered by another node would say nothing of it); the
 * first that answers closes the circuit. Either way the `onAvailable` listeners run, so that the cache
 * replays what it owes at once. Guards of nodes that own no slot any more are dropped at each refresh.
 * @internal
 */
export class NodeGuards {
  readonly #cluster: Cluster;
  readonly #options: RedisGuardOptions;
  readonly #guards = new Map<string, RedisGuard>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #listeners = new Set<() => void>();
  readonly #onRefresh: () => void;

  constructor(cluster: Cluster, options: RedisGuardOptions) {
    this.#cluster = cluster;
    this.#options = options;
    this.#onRefresh = () => this.#dropFormerOwners();
    cluster.on('refresh', this.#onRefresh);
  }

  /** The `"host:port"` of the master that owns `redisKey`'s slot, by the client's slot map. */
  ownerOf(redisKey: string): string {
    return this.#cluster.slots[calculateSlot(redisKey)]?.[0] ?? UNKNOWN_OWNER;
  }

  /** The guard of the node owning `redisKey`. */
  forKey(redisKey: string): RedisGuard {
    return this.forNode(this.ownerOf(redisKey));
  }

  /** The guard of `node` (`"host:port"`), created closed on first use. */
  forNode(node: string): RedisGuard {
    let guard = this.#guards.get(node);
    if (guard === undefined) {
      const created = new RedisGuard(this.#options);
      created.onOpen(() => this.#probeWhileOpen(node, created));
      this.#guards.set(node, created);
      guard = created;
    }
    return guard;
  }

  /** `redisKeys` by owner, each group with its guard and the keys' positions. */
  group(redisKeys: readonly string[]): NodeGroup[] {
    const groups = new Map<string, NodeGroup>();
    redisKeys.forEach((redisKey, i) => {
      const node = this.ownerOf(redisKey);
      let group = groups.get(node);
      if (group === undefined) {
        group = { node, guard: this.forNode(node), indexes: [] };
        groups.set(node, group);
      }
      group.indexes.push(i);
    });
    return [...groups.values()];
  }

  /** Each known node's breaker state. */
  get states(): Record<string, RedisBreakerState> {
    return Object.fromEntries([...this.#guards].map(([node, guard]) => [node, guard.state]));
  }

  /** The worst state of the nodes' breakers (`'closed'` when there are none). */
  get worstState(): RedisBreakerState {
    let worst: RedisBreakerState = 'closed';
    for (const guard of this.#guards.values()) if (SEVERITY[guard.state] > SEVERITY[worst]) worst = guard.state;
    return worst;
  }

  /** Calls `listener` each time a node's keys are usable again; returns a function that stops it. */
  onAvailable(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Stops listening to the client, and probing. */
  close(): void {
    this.#cluster.off('refresh', this.#onRefresh);
    for (const timer of this.#timers.values()) clearInterval(timer);
    this.#timers.clear();
    this.#listeners.clear();
  }

  #probeWhileOpen(node: string, guard: RedisGuard): void {
    const every = guard.probeEveryMs;
    if (every === undefined || this.#timers.has(node)) return;
    let probing = false;
    const timer = setInterval(() => {
      if (this.#guards.get(node) !== guard || guard.state === 'closed') {
        this.#stopProbing(node);
        return;
      }
      if (probing) return;
      probing = true;
      // A failover moves the node's slots elsewhere: the refresh then drops its guard (see #dropFormerOwners).
      this.#cluster.refreshSlotsCache();
      const connection = this.#connectionTo(node);
      const answered = connection === undefined ? Promise.resolve(false) : guard.recover(() => connection.ping());
      void answered.then((ok) => {
        probing = false;
        if (ok && this.#guards.get(node) === guard) {
          this.#stopProbing(node);
          this.#notify();
        }
      });
    }, every);
    timer.unref();
    this.#timers.set(node, timer);
  }

  #stopProbing(node: string): void {
    clearInterval(this.#timers.get(node));
    this.#timers.delete(node);
  }

  #connectionTo(node: string): Redis | undefined {
    return this.#cluster.nodes('master').find((redis) => `${redis.options.host}:${redis.options.port}` === node);
  }

  /** After a slot map refresh: forgets the guards of nodes that own no slot; if one was not closed, notifies. */
  #dropFormerOwners(): void {
    const owners = new Set<string>();
    for (const slot of this.#cluster.slots) if (slot?.[0] !== undefined) owners.add(slot[0]);
    let freed = false;
    for (const [node, guard] of this.#guards) {
      if (owners.has(node)) continue;
      this.#guards.delete(node);
      this.#stopProbing(node);
      if (guard.state !== 'closed') freed = true;
    }
    if (freed) this.#notify();
  }

  #notify(): void {
    notifyListeners(this.#listeners);
  }
}
