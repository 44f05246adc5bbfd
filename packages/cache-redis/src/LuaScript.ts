import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** An ioredis client: one server, or a Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * A Lua script run by its SHA1 (`EVALSHA`), sent in full (`EVAL`) only when the server does not know it
 * yet (`NOSCRIPT`: first use, after a restart, on another Cluster node). Unlike ioredis' `defineCommand`,
 * it adds nothing to a client that the caller owns. Scripts run on a Cluster touch exactly one key,
 * `KEYS[1]` (a script's keys must share a slot); on a single server a script may take several.
 * @internal
 */
export class LuaScript {
  readonly #sha: string;

  constructor(readonly source: string) {
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script on `keys` (one key, or several in one slot) with `args`. */
  async run(client: RedisClient, keys: string | readonly string[], args: ReadonlyArray<string | Buffer>): Promise<unknown> {
    const list = typeof keys === 'string' ? [keys] : keys;
    try {
      return await client.evalsha(this.#sha, list.length, ...list, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, list.length, ...list, ...args);
    }
  }
}
