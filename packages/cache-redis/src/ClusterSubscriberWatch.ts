import type { Cluster, Redis } from 'ioredis';

/** The part of ioredis' Cluster internals that holds the subscribed connection (`ClusterSubscriber`). */
interface SubscriberHolder {
  subscriber?: { getInstance?(): Redis | null };
}

/**
 * Tells when an ioredis `Cluster` moves its pub/sub subscription to another connection. The Cluster keeps
 * one subscribed connection, to one node; when that connection ends (its node died) or the node leaves the
 * slot map, the Cluster opens another to another node and subscribes it again, emitting no
 * `'close'`/`'ready'` of its own: only its `'-node'`/`'+node'`/`'refresh'` and the old connection's `'end'`.
 * Messages published between the two connections are lost to this process. This watches those events and,
 * each time the subscribed connection is a different one (read from the Cluster's subscriber, which ioredis
 * does not declare public: where it cannot be read, every `'-node'` counts as a move), calls `onMove`.
 * @internal
 */
export class ClusterSubscriberWatch {
  readonly #cluster: Cluster;
  readonly #onMove: () => void;
  readonly #readable: boolean;
  #current: Redis | null | undefined;
  /** Before {@link arm}, moves only update {@link #current} (the first connection is no move). */
  #armed = false;
  #closed = false;
  readonly #checkSoon = () => {
    // The Cluster emits '-node'/'+node' before its subscriber reacts to them: look once that has run.
    setImmediate(this.#check);
  };
  readonly #onNodeLeft = () => {
    if (this.#readable) this.#checkSoon();
    else if (this.#armed && !this.#closed) this.#onMove();
  };
  readonly #check = () => {
    if (this.#closed) return;
    const now = this.#instance();
    if (now === this.#current) return;
    this.#current?.off('end', this.#checkSoon);
    this.#current = now;
    now?.on('end', this.#checkSoon);
    if (this.#armed) this.#onMove();
  };

  constructor(cluster: Cluster, onMove: () => void) {
    this.#cluster = cluster;
    this.#onMove = onMove;
    this.#readable = typeof (cluster as unknown as SubscriberHolder).subscriber?.getInstance === 'function';
    this.#current = this.#instance();
    this.#current?.on('end', this.#checkSoon);
    cluster.on('-node', this.#onNodeLeft);
    cluster.on('+node', this.#checkSoon);
    cluster.on('refresh', this.#checkSoon);
  }

  /** From now on, a change of connection is a move: call once the first subscription is confirmed. */
  arm(): void {
    if (this.#closed) return;
    this.#current?.off('end', this.#checkSoon);
    this.#current = this.#instance();
    this.#current?.on('end', this.#checkSoon);
    this.#armed = true;
  }

  /** Stops watching. */
  close(): void {
    this.#closed = true;
    this.#current?.off('end', this.#checkSoon);
    this.#cluster.off('-node', this.#onNodeLeft);
    this.#cluster.off('+node', this.#checkSoon);
    this.#cluster.off('refresh', this.#checkSoon);
  }

  #instance(): Redis | null | undefined {
    return this.#readable ? ((this.#cluster as unknown as SubscriberHolder).subscriber?.getInstance?.() ?? null) : undefined;
  }
}
