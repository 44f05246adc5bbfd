import type { Cluster, Redis } from 'ioredis';
import { DEFAULT_PREFIX, DEFAULT_VERSION, describeValue, storageNamespace } from '@toolkit/cache';
import type { Backplane, BackplaneMessage } from '@toolkit/cache';
import { BACKPLANE_CONNECT_OPTIONS, BACKPLANE_OPTIONS, checkRedisOptionNames } from './config/optionNames';
import { ClusterSubscriberWatch } from './ClusterSubscriberWatch';
import { ConnectionWatch } from './ConnectionWatch';
import { createRedisClient, quitClient } from './createRedisClient';
import type { RedisClientOptions, RedisTarget } from './createRedisClient';
import { ReconnectProbe } from './ReconnectProbe';
import { RedisGuard } from './RedisGuard';
import type { RedisBreakerState, RedisGuardOptions } from './RedisGuard';

/** Options of {@link RedisBackplane}. */
export interface RedisBackplaneOptions extends RedisGuardOptions {
  /** The connection that publishes. Not closed by the backplane: its owner closes it. */
  publisher: Redis | Cluster;
  /**
   * The connection that subscribes: a different one from `publisher` (a RESP2 connection that has
   * subscribed cannot publish, and a subscriber's reconnection must not hold up publishing). Not closed by
   * the backplane: its owner closes it.
   */
  subscriber: Redis | Cluster;
  /**
   * Key prefix of the namespace, as given to the `RedisStore` (same rules); names the channel.
   * @default 'svc' (`DEFAULT_PREFIX`)
   */
  prefix?: string;
  /**
   * Version of the namespace, as given to the `RedisStore`; names the channel.
   * @default 'v1'
   */
  version?: string;
  /**
   * The pub/sub channel, when it should not be the namespace's.
   * @default `${prefix}:${version}:bus`
   */
  channel?: string;
  /**
   * Told about what the backplane ignores so as not to disturb the cache: a malformed message on the
   * channel, a listener that threw, a resubscription that failed (it is retried at the next reconnection).
   * @default ignore them
   */
  onError?: (error: unknown) => void;
}

/** Options of {@link RedisBackplane.connect}: the backplane's options, and ioredis options for its two clients. */
export interface RedisBackplaneConnectOptions extends Omit<RedisBackplaneOptions, 'publisher' | 'subscriber'>, RedisClientOptions {}

const TYPES = new Set(['keys', 'prefix', 'match', 'tags', 'scope']);

/**
 * On a Cluster, how long after a resubscription that failed it is tried again (a Cluster that moves its
 * subscription emits no `'ready'` to wait for).
 */
const CLUSTER_RESUBSCRIBE_RETRY_MS = 250;

/**
 * A {@link Backplane} on Redis pub/sub, one channel per namespace (`${prefix}:${version}:bus`): when a
 * process writes, deletes or invalidates, the others drop their L1 copies. Messages are JSON; one that
 * is not a valid {@link BackplaneMessage} is ignored (and given to `onError`).
 *
 * Pub/sub does not keep messages: those sent while a subscriber was disconnected are lost to it. So after
 * its connection comes back (ioredis `'ready'` after a `'close'`), the backplane subscribes again, waits
 * until Redis has confirmed it, and only then calls `onReconnect`: `Cache` empties its L1 then, and every
 * message sent after that point is received. `onReconnect` is not called on the first connection, only
 * after a loss (or after a first subscription that could not be made).
 *
 * On a Cluster, `PUBLISH` reaches subscribers on every node; the subscriber may be a `Cluster` client or
 * a plain connection to one node. Reconnection is detected through the subscriber client's own events;
 * a `Cluster` subscriber also moves its subscription to another node when its node dies, with no
 * `'close'`/`'ready'`: that move is watched too (the Cluster's `'-node'`, `'+node'`, `'refresh'` and the
 * subscribed connection's `'end'`) and followed by the same resubscription and `onReconnect`.
 *
 * @example
 * const backplane = RedisBackplane.connect('redis://127.0.0.1:6379', { prefix: 'shop' });
 * const cache = new Cache({ store, backplane });
 * await cache.ready; // subscribed
 */
export class RedisBackplane implements Backplane {
  /**
   * A backplane on two clients it creates (and closes in {@link RedisBackplane.close}) from a cache URL or
   * a parsed backend: a publisher (auto-pipelined, `commandTimeout: timeoutMs`) and a subscriber.
   *
   * @example
   * const backplane = RedisBackplane.connect(process.env.REDIS_URL!, { prefix: 'shop', version: 'v2' });
   */
  static connect(target: RedisTarget, options: RedisBackplaneConnectOptions = {}): RedisBackplane {
    checkRedisOptionNames(options, BACKPLANE_CONNECT_OPTIONS, 'RedisBackplane.connect()');
    const { redisOptions, clusterOptions, ...rest } = options;
    storageNamespace(rest.prefix ?? DEFAULT_PREFIX, rest.version ?? DEFAULT_VERSION);
    const timeoutMs = new RedisGuard(rest).timeoutMs;
    const publisher = createRedisClient(target, { timeoutMs, connectionName: 'toolkit-cache-pub' }, { redisOptions, clusterOptions });
    const subscriber = createRedisClient(
      target,
      { timeoutMs, connectionName: 'toolkit-cache-sub', forSubscriber: true },
      { redisOptions, clusterOptions },
    );
    // The backplane listens to both clients' errors itself (see onConnectionError): ioredis does not print them.
    const backplane = new RedisBackplane({ ...rest, publisher, subscriber });
    backplane.#owned = true;
    return backplane;
  }

  /** The pub/sub channel. */
  readonly channel: string;
  /** The publishing connection. */
  readonly publisher: Redis | Cluster;
  /** The subscribed connection. */
  readonly subscriber: Redis | Cluster;

  readonly #guard: RedisGuard;
  readonly #probe: ReconnectProbe;
  /** Whether {@link close} quits the clients: true when {@link RedisBackplane.connect} made them. */
  #owned = false;
  readonly #onError: (error: unknown) => void;
  /** Set while subscribed: the listeners to remove on `unsubscribe()`. */
  #listening: { off(): void } | undefined;
  readonly #connections: readonly ConnectionWatch[];

  /**
   * A backplane on two clients you own (and close yourself).
   * @param options the two clients, the namespace (or channel), timeout, breaker and error listener
   * @throws TypeError naming the option that is wrong
   */
  constructor(options: RedisBackplaneOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`RedisBackplane options must be an object, got ${describeValue(options)}`);
    }
    checkRedisOptionNames(options, BACKPLANE_OPTIONS, 'RedisBackplane');
    const { publisher, subscriber, prefix = DEFAULT_PREFIX, version = DEFAULT_VERSION, channel, onError = () => undefined } = options;
    for (const [name, client] of [['publisher', publisher], ['subscriber', subscriber]] as const) {
      if (client === null || typeof client !== 'object' || typeof (client as Partial<Redis>).publish !== 'function') {
        throw new TypeError(`\`${name}\` must be an ioredis Redis or Cluster client, got ${describeValue(client)}`);
      }
    }
    if (publisher === subscriber) {
      throw new TypeError('`publisher` and `subscriber` must be two different connections: a subscribed connection cannot publish');
    }
    if (channel !== undefined && (typeof channel !== 'string' || channel === '')) {
      throw new TypeError(`\`channel\` must be a non-empty string, got ${describeValue(channel)}`);
    }
    if (typeof onError !== 'function') throw new TypeError(`\`onError\` must be a function, got ${describeValue(onError)}`);
    const namespace = storageNamespace(prefix, version);
    this.channel = channel ?? `${namespace}bus`;
    this.publisher = publisher;
    this.subscriber = subscriber;
    this.#guard = new RedisGuard(options);
    this.#probe = new ReconnectProbe(publisher, this.#guard);
    this.#onError = onError;
    this.#connections = [new ConnectionWatch(publisher), new ConnectionWatch(subscriber)];
  }

  /**
   * Calls `listener` with each failure of either connection itself (refused, TLS, authentication…), as a
   * `RedisConnectionError` with the client's own message (never the password), once per distinct error
   * until that connection is ready again. `Cache` listens to it (`CACHE_L2_ERROR`, `operation:
   * 'connection'`). Returns a function that stops listening.
   */
  onConnectionError(listener: (error: Error) => void): () => void {
    const stops = this.#connections.map((watch) => watch.listen(listener));
    return () => stops.forEach((stop) => stop());
  }

  /** The publisher's circuit breaker state. */
  get breakerState(): RedisBreakerState {
    return this.#guard.state;
  }

  /**
   * Calls `listener` each time the publisher reconnects (ioredis `'ready'`) and answers a `PING`; its
   * circuit breaker is closed by then. `Cache` uses it to send at once the messages it could not send
   * meanwhile. Returns a function that stops the calls.
   */
  onAvailable(listener: () => void): () => void {
    return this.#probe.onAvailable(listener);
  }

  /** Sends `message` to every subscribed process (this one included: `Cache` skips its own by `source`). */
  publish(message: BackplaneMessage): Promise<void> {
    return this.#guard
      .run(async () => {
        await this.publisher.publish(this.channel, JSON.stringify(message));
      })
      .catch((error: unknown) => {
        throw this.#connections[0]!.redact(error); // never the password (an AUTH error carries it)
      });
  }

  /**
   * Subscribes to the channel; resolves once Redis has confirmed it (rejects after `timeoutMs` if it
   * does not, but keeps trying: the subscription is made at the next connection, followed by
   * `onReconnect`). A second call replaces the listeners of the first.
   */
  async subscribe(onMessage: (message: BackplaneMessage) => void, onReconnect: () => void): Promise<void> {
    if (typeof onMessage !== 'function' || typeof onReconnect !== 'function') {
      throw new TypeError('`subscribe` takes two functions: onMessage and onReconnect');
    }
    this.#listening?.off();
    const subscriber = this.subscriber;
    let lost = false;
    let active = true;

    const onRedisMessage = (channel: string, text: string) => {
      if (channel !== this.channel) return;
      const message = parseMessage(text);
      if (message instanceof Error) {
        this.#onError(message);
        return;
      }
      try {
        onMessage(message);
      } catch (error) {
        this.#onError(error);
      }
    };
    const onLoss = () => {
      lost = true;
    };
    let retry: NodeJS.Timeout | undefined;
    const onReady = () => {
      if (!lost) return;
      lost = false;
      // Redis has the subscription once this SUBSCRIBE is answered (ioredis' own resubscription, if any, went first).
      subscriber.subscribe(this.channel).then(
        () => {
          if (!active) return;
          try {
            onReconnect();
          } catch (error) {
            this.#onError(error);
          }
        },
        (error: unknown) => {
          lost = true;
          this.#onError(this.#connections[1]!.redact(error));
          if (moves !== undefined && active && retry === undefined) {
            retry = setTimeout(() => {
              retry = undefined;
              if (active) onReady();
            }, CLUSTER_RESUBSCRIBE_RETRY_MS);
            retry.unref();
          }
        },
      );
    };
    const moves = subscriber.isCluster
      ? new ClusterSubscriberWatch(subscriber as Cluster, () => {
          lost = true;
          onReady();
        })
      : undefined;
    subscriber.on('message', onRedisMessage);
    subscriber.on('close', onLoss);
    subscriber.on('reconnecting', onLoss);
    subscriber.on('ready', onReady);
    this.#listening = {
      off: () => {
        active = false;
        moves?.close();
        clearTimeout(retry);
        subscriber.off('message', onRedisMessage);
        subscriber.off('close', onLoss);
        subscriber.off('reconnecting', onLoss);
        subscriber.off('ready', onReady);
      },
    };

    try {
      await this.#bounded(subscriber.subscribe(this.channel));
    } catch (error) {
      // Retried at the next 'ready' (or move); the caller hears of the failure now (never with the password).
      lost = true;
      throw this.#connections[1]!.redact(error);
    } finally {
      moves?.arm();
    }
  }

  /** Stops delivering messages at once, then unsubscribes from the channel (never rejects). */
  async unsubscribe(): Promise<void> {
    if (this.#listening === undefined) return;
    this.#listening.off();
    this.#listening = undefined;
    if (this.subscriber.status !== 'ready') return;
    try {
      await this.#bounded(this.subscriber.unsubscribe(this.channel));
    } catch (error) {
      this.#onError(this.#connections[1]!.redact(error));
    }
  }

  /** Unsubscribes, then, if {@link RedisBackplane.connect} created the clients, quits them. */
  async close(): Promise<void> {
    await this.unsubscribe();
    this.#probe.close();
    if (this.#owned) await Promise.all([quitClient(this.publisher), quitClient(this.subscriber)]);
    else for (const watch of this.#connections) watch.close(); // clients passed in keep no listener of ours
  }

  /** Bounds a subscriber command by `timeoutMs` (the subscriber has no command timeout of its own). */
  async #bounded<T>(promise: Promise<T>): Promise<T> {
    const ms = this.#guard.timeoutMs;
    if (!Number.isFinite(ms)) return promise;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Redis did not confirm the subscription change on ${describeValue(this.channel)} within ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A message from the channel, or an `Error` saying why it is not one. */
function parseMessage(text: string): BackplaneMessage | Error {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return new Error('a backplane message is not JSON', { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object') return new Error('a backplane message is not an object');
  const m = parsed as Record<string, unknown>;
  const isStrings = (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === 'string');
  const valid =
    typeof m.type === 'string' &&
    TYPES.has(m.type) &&
    typeof m.source === 'string' &&
    (m.type === 'keys'
      ? isStrings(m.keys)
      : m.type === 'tags'
        ? isStrings(m.tags)
        : m.type === 'prefix'
          ? typeof m.prefix === 'string'
          : m.type === 'match'
            ? typeof m.pattern === 'string'
            : typeof m.scope === 'string');
  return valid ? (m as unknown as BackplaneMessage) : new Error(`a backplane message has an unknown shape: ${text.slice(0, 200)}`);
}
