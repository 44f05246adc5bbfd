import type { Cluster, Redis } from 'ioredis';
import { RedisConnectionError } from './errors/RedisConnectionError';

/** Distinct messages remembered per outage, so that a flapping connection cannot grow the set without bound. */
const MAX_DISTINCT = 32;

/**
 * Watches one client's connection errors (ioredis `'error'`, and a Cluster's `'node error'`), which ioredis
 * only emits, never attaches to the commands that then fail ("max retries per request", timeouts). It
 * remembers the last one until the connection is ready again, so that a failed operation can name it, and
 * tells its listeners once per distinct message per outage (a client retrying every 2 s does not flood
 * them). The password is replaced by `***` in every message it gives out.
 * @internal
 */
export class ConnectionWatch {
  readonly #listeners = new Set<(error: RedisConnectionError) => void>();
  readonly #reported = new Set<string>();
  readonly #password: string | undefined;
  readonly #stop: () => void;
  #last: Error | undefined;

  constructor(client: Redis | Cluster) {
    const password = client.isCluster ? (client as Cluster).options.redisOptions?.password : (client as Redis).options.password;
    this.#password = typeof password === 'string' && password !== '' ? password : undefined;
    const onError = (error: unknown) => {
      this.#record(error);
      guardStream(client);
    };
    const onNodeError = (error: unknown) => this.#record(error);
    const onReady = () => {
      this.#last = undefined;
      this.#reported.clear();
    };
    client.on('error', onError);
    if (client.isCluster) client.on('node error', onNodeError);
    client.on('ready', onReady);
    this.#stop = () => {
      client.off('error', onError);
      client.off('node error', onNodeError);
      client.off('ready', onReady);
    };
  }

  /** Stops listening to the client (and to the listeners): for a client that outlives its component. */
  close(): void {
    this.#stop();
    this.#listeners.clear();
  }

  /** The last connection error since the connection was last ready (password redacted), if any. */
  get last(): Error | undefined {
    return this.#last;
  }

  /** Calls `listener` with each new connection error; returns a function that stops it. */
  listen(listener: (error: RedisConnectionError) => void): () => void {
    const own = (error: RedisConnectionError) => listener(error);
    this.#listeners.add(own);
    return () => this.#listeners.delete(own);
  }

  /**
   * What an operation that failed should reject with: a {@link RedisConnectionError} naming the
   * connection's own error when there is one, else the operation's error as it is.
   */
  explain(operation: string, error: unknown): unknown {
    if (this.#last === undefined) return error;
    return new RedisConnectionError(this.#last, { operation, operationError: isErrorLike(error) ? this.#redact(error) : error });
  }

  /**
   * `error` as an operation may reject with it: a copy without the password if it holds it anywhere (a
   * command failed with the connection's `AUTH` error carries that command's arguments), else itself.
   */
  redact(error: unknown): unknown {
    return isErrorLike(error) ? this.#redact(error) : error;
  }

  #record(raw: unknown): void {
    // Errors of Node's sockets may come from another realm (under jest, say): duck-type rather than instanceof.
    const error = this.#redact(isErrorLike(raw) ? raw : new Error(String(raw)));
    this.#last = error;
    if (this.#reported.has(error.message)) return;
    if (this.#reported.size >= MAX_DISTINCT) this.#reported.clear();
    this.#reported.add(error.message);
    const reported = new RedisConnectionError(error);
    for (const listener of this.#listeners) {
      try {
        listener(reported);
      } catch {
        // A listener's failure is its own; the connection goes on.
      }
    }
  }

  /**
   * The error itself, or — when the password appears anywhere in it (its message, stack, or fields such as
   * ioredis' `command.args` of a failed `AUTH`/`HELLO`) — a copy with its name, code and message, the
   * password replaced by `***`, and nothing else.
   */
  #redact(error: Error): Error {
    const secret = this.#password;
    if (secret === undefined || !mentions(error, secret)) return error;
    const clean = new Error(error.message.split(secret).join('***'));
    clean.name = error.name;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') Object.assign(clean, { code });
    return clean;
  }
}

/**
 * ioredis listens to its socket's errors with `once`: a TLS socket that fails twice (a certificate that
 * does not verify, then the server's alert) would throw the second error as an uncaught exception. After
 * the first, this keeps a listener on the socket until it is replaced (ioredis' own error handling has run).
 */
function guardStream(client: Redis | Cluster): void {
  const stream = (client as { stream?: { listenerCount?(event: string): number; on?(event: string, listener: () => void): void } }).stream;
  if (typeof stream?.listenerCount === 'function' && typeof stream.on === 'function' && stream.listenerCount('error') === 0) {
    stream.on('error', () => undefined);
  }
}

function isErrorLike(value: unknown): value is Error {
  return typeof value === 'object' && value !== null && typeof (value as Error).message === 'string';
}

function mentions(error: Error, secret: string): boolean {
  if (error.message.includes(secret) || String(error.stack).includes(secret)) return true;
  try {
    return JSON.stringify(error).includes(secret);
  } catch {
    return true; // cannot be inspected: assume the worst
  }
}
