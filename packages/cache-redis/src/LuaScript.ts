import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** An ioredis client: one server, or a Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * A Lua script run by its SHA1 (`EVALSHA`), sent in full (`EVAL`) only when the server does not know it
 * yet (`NOSCRIPT`: first use, after a restart, on another Cluster node). Unlike ioredis' `defineCommand`,
 * it adds nothing to a client that the caller owns. Every script here touches exactly one key, `KEYS[1]`,
 * so that it runs on a Cluster as well (a script's keys must share a slot).
 * @internal
 */
export class LuaScript {
  readonly #sha: string;

  constructor(readonly source: string) {
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, key: string, args: ReadonlyArray<string | Buffer>): Promise<unknown> {
    try {
      return await client.evalsha(this.#sha, 1, key, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, 1, key, ...args);
    }
  }
}
