import { randomInt } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { DEFAULT_PREFIX, DEFAULT_VERSION, compileGlob, describeValue, storageNamespace } from '@toolkit/cache';
import type { CacheStore, Clock, Duration, StoredEntry } from '@toolkit/cache';
import { STORE_CONNECT_OPTIONS, STORE_OPTIONS, checkRedisOptionNames } from './config/optionNames';
import { ConnectionWatch } from './ConnectionWatch';
import { createRedisClient, quitClient } from './createRedisClient';
import type { RedisClientOptions, RedisTarget } from './createRedisClient';
import { LuaScript } from './LuaScript';
import { escapeGlob, globToScanPattern } from './namespace';
import { NodeGuards } from './NodeGuards';
import { ReconnectProbe } from './ReconnectProbe';
import { RedisGuard } from './RedisGuard';
import type { RedisBreakerState, RedisGuardOptions } from './RedisGuard';
import { jsonSerializer } from './serializers/jsonSerializer';
import type { RedisSerializer, VersionedEntry } from './serializers/RedisSerializer';
import { LUA_TOMBSTONE, isTombstone, tombstoneStamp, tombstoneTtlMs } from './tombstone';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions extends RedisGuardOptions {
  /**
   * The ioredis client: a `Redis` (one server) or a `Cluster`. The store does not close it: its owner does.
   * Create it with `enableAutoPipelining: true` (as {@link RedisStore.connect} does): multi-key reads on a
   * Cluster are one `GET` per key, and auto-pipelining sends them in one write per node.
   */
  client: Redis | Cluster;
  /**
   * First segment of every key. No `:`, `*`, `?`, `[`, `]`, `\`, `{`, `}` or whitespace (a `TypeError`
   * names the option): see {@link RedisStore} for why.
   * @default 'svc' (`DEFAULT_PREFIX` of @toolkit/cache, as `CACHE_PREFIX`)
   */
  prefix?: string;
  /**
   * Second segment of every key: change it to abandon every old entry at once (after a change of the
   * cached data's shape, or of serializer). Same characters as `prefix`.
   * @default 'v1'
   */
  version?: string;
  /**
   * How entries become bytes: {@link jsonSerializer}, {@link v8Serializer}, or your own.
   * @default jsonSerializer
   */
  serializer?: RedisSerializer;
  /**
   * The time the store judges `staleUntil` by, and computes Redis expiries from. Tests inject one to move
   * time; Redis's own expiry still runs on real time, so reads also check `staleUntil` against this clock.
   * @default Date.now
   */
  clock?: Clock;
  /**
   * How long a deleted key keeps its tombstone (ms or a duration string; positive, finite). `remove`,
   * `delete`, `clear`, `deleteByPrefix`, `deleteMatching` and the key-equals-tag part of `invalidateTags`
   * write one in place of a `DEL`: a write stamped before the delete (a load that started before it and
   * finishes after) is refused while it is there; reads take it for a missing key. Keep it longer than
   * the longest time from a load's start to its L2 write: the L2 read and write (up to `timeoutMs` each),
   * the wait for the distributed lock (up to `lockWaitTimeout`, 30 s by default) and the factory (up to
   * `hardTimeout`, unbounded by default). A slower load may still land its value after the delete.
   * @default 60_000
   */
  tombstoneTtl?: Duration;
}

/** Options of {@link RedisStore.connect}: the store's options, and ioredis options for the client it creates. */
export interface RedisStoreConnectOptions extends Omit<RedisStoreOptions, 'client'>, RedisClientOptions {}

const systemClock: Clock = { now: () => Date.now() };

/** Keys per `MGET` / delete script on a single server. */
const CHUNK = 1_000;
/** Keys asked per `SCAN` step. */
const SCAN_COUNT = 500;
/**
 * A tag-version key outlives the longest-lived entry that carries it by this much, so that it never
 * expires before one of them (their expiries are set a few ms after its own).
 */
const TAG_TTL_MARGIN_MS = 60_000;
/** Tries of an optimistic write (compare-and-swap) before giving up; each failed try means another writer won. */
const MAX_ATTEMPTS = 32;
/** Tag versions remembered (from reads and writes) to encode a write's versions before sending it. */
const KNOWN_TAG_VERSIONS = 10_000;

/**
 * Versions at or above this carry the time of the invalidation that made them: `INVALIDATED + ms × 1024 +
 * a count` (up to 1,024 invalidations of one tag per ms). A tag never invalidated has a random version
 * below 2^47. A write stamped before a tag's invalidation is refused (a load that started before
 * `invalidateTags` must not land live after it, as after a delete). Exact in a double up to 2^53: times
 * up to the year 2255.
 */
const INVALIDATED = 2 ** 48;
const PER_MS = 1024;

/** When the invalidation that gave a tag this version happened (ms), or `undefined` if none did. */
function invalidatedAt(version: number): number | undefined {
  return version >= INVALIDATED ? Math.floor((version - INVALIDATED) / PER_MS) : undefined;
}

/**
 * The version of a tag, for a write: the one there, or a fresh random one if the tag has none. The key's
 * expiry is raised to `ARGV[2]` ms (`''`: removed), the life of the entry about to carry the tag.
 */
const TAG_VERSION = new LuaScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  v = ARGV[1]
  if ARGV[2] == '' then redis.call('SET', KEYS[1], v) else redis.call('SET', KEYS[1], v, 'PX', ARGV[2]) end
  return v
end
if ARGV[2] == '' then
  redis.call('PERSIST', KEYS[1])
else
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl >= 0 and ttl < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
end
return v
`);

/**
 * Writes one entry, in order and with its tags' bookkeeping, in one round trip. KEYS[1]: the entry;
 * KEYS[2..]: its tags' version keys (on a single server; on a Cluster they live in other slots and the
 * client ensures them with {@link TAG_VERSION} alongside). ARGV[1]: the write's stamp; ARGV[2]: PX ('' none,
 * 'stale': the entry is dead already: a tombstone with the stamp, for ARGV[7] ms, in place of the key, or
 * without a stamp a delete (that leaves a tombstone there)); ARGV[3]: the encoded entry; ARGV[4] how to keep writes in order: 'any' (no
 * check), 'json' (the key holds {@link jsonSerializer} bytes, whose header's "w" is the stamp: compared
 * here), 'same' (the client read the stamp itself: the key must still hold exactly ARGV[5]) or 'absent'
 * (the key must still hold nothing); ARGV[5]: those bytes, else ''; ARGV[6]: '1' when ARGV[3] is
 * {@link jsonSerializer} bytes; ARGV[7]: a tombstone's PX; then per tag the version the client encoded in
 * ARGV[3] (created with it when the tag has none) and the tag key's PX ('' none). A tombstone is a JSON
 * header whose "w" is the delete's stamp: the 'json' check orders writes after a delete as after a write.
 *
 * When a tag's version is not the one encoded, JSON bytes are corrected here (the header's `"v"` array,
 * found at its first `,"v":[`: a `"` inside a JSON string is always escaped, so that can only be the
 * header's own), so the write still takes one round trip; other bytes cannot be: the answer is then
 * {'versions', …} and nothing is written (the client encodes those versions and calls again).
 *
 * Answers {'ok', …the tags' versions}; {'older'} when the key holds an entry with a later stamp or one
 * of the tags was invalidated after the write's stamp (see {@link INVALIDATED}), {'changed'} when it no
 * longer holds what the client read (nothing written either way).
 */
const WRITE_ENTRY = new LuaScript(`${LUA_TOMBSTONE}
local actual, mismatch = {}, false
for i = 2, #KEYS do
  local want, ttl = ARGV[2 * i + 4], ARGV[2 * i + 5]
  local v = redis.call('GET', KEYS[i])
  if not v then
    v = want
    if ttl == '' then redis.call('SET', KEYS[i], v) else redis.call('SET', KEYS[i], v, 'PX', ttl) end
  elseif ttl == '' then
    redis.call('PERSIST', KEYS[i])
  else
    local left = redis.call('PTTL', KEYS[i])
    if left >= 0 and left < tonumber(ttl) then redis.call('PEXPIRE', KEYS[i], ttl) end
  end
  actual[#actual + 1] = v
  if v ~= want then mismatch = true end
end
if ARGV[1] ~= '' then
  for i = 1, #actual do
    local n = tonumber(actual[i])
    if n and n >= ${INVALIDATED} and math.floor((n - ${INVALIDATED}) / ${PER_MS}) > tonumber(ARGV[1]) then return {'older'} end
  end
end
local value = ARGV[3]
if mismatch then
  local at = ARGV[6] == '1' and string.find(value, ',"v":[', 1, true)
  local close = at and string.find(value, ']', at + 6, true)
  if not close then
    table.insert(actual, 1, 'versions')
    return actual
  end
  value = string.sub(value, 1, at + 5) .. table.concat(actual, ',') .. string.sub(value, close)
end
local raw = false
if ARGV[4] ~= 'any' or ARGV[2] == 'stale' then raw = redis.call('GET', KEYS[1]) end
if ARGV[4] == 'absent' then
  if raw then return {'changed'} end
elseif ARGV[4] == 'same' then
  if raw ~= ARGV[5] then return {'changed'} end
elseif ARGV[4] == 'json' and raw then
  local nl = string.find(raw, '\\n', 1, true)
  if nl then
    local ok, meta = pcall(cjson.decode, string.sub(raw, 1, nl - 1))
    if ok and type(meta) == 'table' and type(meta.w) == 'number' and meta.w > tonumber(ARGV[1]) then return {'older'} end
  end
end
if ARGV[2] == 'stale' then
  if ARGV[1] ~= '' then redis.call('SET', KEYS[1], tombstone(ARGV[1]), 'PX', ARGV[7])
  elseif not (raw and tombstoneStamp(raw)) then redis.call('DEL', KEYS[1]) end
elseif ARGV[2] == '' then redis.call('SET', KEYS[1], value)
else redis.call('SET', KEYS[1], value, 'PX', ARGV[2]) end
table.insert(actual, 1, 'ok')
return actual
`);

/**
 * Invalidates a tag: a new version, if it has one at all (no version: no entry carries it), that carries
 * the invalidation's time ARGV[1] (see {@link INVALIDATED}); never lower than the one before.
 */
const INVALIDATE_TAG = new LuaScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local n = math.max(tonumber(v) + 1, ${INVALIDATED} + math.floor(tonumber(ARGV[1])) * ${PER_MS})
redis.call('SET', KEYS[1], string.format('%.0f', n), 'KEEPTTL')
return string.format('%.0f', n)
`);

/**
 * Deletes entries: a tombstone in place of each key (present or not), with the delete's stamp ARGV[1]
 * (or the later one of a tombstone already there), for ARGV[2] ms. Answers how many keys held something
 * other than a tombstone. On a Cluster, one key per call.
 */
const DELETE_ENTRIES = new LuaScript(`${LUA_TOMBSTONE}
local held, stamp = 0, tonumber(ARGV[1])
for i = 1, #KEYS do
  local raw = redis.call('GET', KEYS[i])
  local at = ARGV[1]
  if raw then
    local was = tombstoneStamp(raw)
    if was == nil then held = held + 1 elseif tonumber(was) ~= nil and tonumber(was) > stamp then at = was end
  end
  redis.call('SET', KEYS[i], tombstone(at), 'PX', ARGV[2])
end
return held
`);

/**
 * Compare-and-swap: writes ARGV[3] only if the key holds exactly ARGV[1] (or nothing, when ARGV[2] is '1').
 * ARGV[4]: 'keep' keeps the key's expiry, '' writes without one, 'stale' deletes the key, else PX ms.
 */
const COMPARE_AND_SET = new LuaScript(`
local current = redis.call('GET', KEYS[1])
if ARGV[2] == '1' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
if ARGV[4] == 'stale' then redis.call('DEL', KEYS[1])
elseif ARGV[4] == 'keep' then redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
elseif ARGV[4] == '' then redis.call('SET', KEYS[1], ARGV[3])
else redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) end
return 1
`);

/**
 * Atomic increment of a {@link jsonSerializer} entry, on the server. ARGV: 1 by, 2 now, 3 the encoded
 * entry to write when there is no live one, 4 its PX ('' none, 'stale' write nothing), 5 a JSON object of
 * tag versions the client has read. A live entry carrying a tag the client has not read yet answers
 * {'tags', [its tags]}: the client reads them and calls again. The header line and the expiry are kept;
 * only the value (the text after the first newline) is rewritten, with 17 significant digits at most so
 * that the double reads back exactly.
 */
const INCREMENT_JSON = new LuaScript(`
local raw = redis.call('GET', KEYS[1])
if raw then
  local nl = string.find(raw, '\\n', 1, true)
  local ok, meta = false, nil
  if nl then ok, meta = pcall(cjson.decode, string.sub(raw, 1, nl - 1)) end
  if ok and type(meta) == 'table' and type(meta.t) == 'table' and type(meta.v) == 'table' then
    local live = meta.s == cjson.null or (type(meta.s) == 'number' and meta.s > tonumber(ARGV[2]))
    if live and #meta.t > 0 then
      local known = cjson.decode(ARGV[5])
      for i, tag in ipairs(meta.t) do
        local version = known[tag]
        if version == nil then return {'tags', cjson.encode(meta.t)} end
        if version ~= meta.v[i] then live = false break end
      end
    end
    if live then
      local text = string.sub(raw, nl + 1)
      local n = tonumber(text)
      if n == nil or not string.find(text, '^%-?%d') then return {'nan', string.sub(text, 1, 1)} end
      local sum = n + tonumber(ARGV[1])
      if sum ~= sum or sum == math.huge or sum == -math.huge then return {'range', ''} end
      local s = string.format('%.15g', sum)
      if tonumber(s) ~= sum then s = string.format('%.17g', sum) end
      redis.call('SET', KEYS[1], string.sub(raw, 1, nl) .. s, 'KEEPTTL')
      return {'ok', s}
    end
  end
end
if ARGV[4] == 'stale' then redis.call('DEL', KEYS[1])
elseif ARGV[4] == '' then redis.call('SET', KEYS[1], ARGV[3])
else redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) end
return {'ok', ARGV[1]}
`);

/** An entry ready to be written: its Redis key, bytes and expiry (`px`: ms, `''` none, `'stale'` not written). */
interface Prepared {
  readonly redisKey: string;
  readonly raw: string | Buffer;
  readonly px: string;
}

/**
 * The L2 {@link CacheStore} on Redis (one server or a Cluster), for `Cache` from `@toolkit/cache`.
 *
 * **Keys.** Entries live under `${prefix}:${version}:e:${key}`, tag versions under
 * `${prefix}:${version}:t:${tag}` (locks of {@link RedisLock} under `…:l:…`). `prefix` and `version` may not
 * contain `:` (with prefix `app:v1` and version `v2` next to prefix `app` and version `v1`, one namespace
 * would contain the other), nor glob characters (`*?[]\`, so a `SCAN MATCH` of one namespace can only match
 * itself), nor Cluster hash-tag braces (every key would land in one slot), nor whitespace. With those rules,
 * a user key, whatever it holds, stays under `${prefix}:${version}:e:`: it cannot reach another namespace
 * nor the tag versions. Braces in a user key do work as hash tags on a Cluster: keys that must live in one
 * slot can say so (`'{user:1}:profile'`, `'{user:1}:orders'`).
 *
 * **Values** are encoded by the `serializer` (JSON by default) with their timeline, written with a Redis
 * expiry (`PX`) of `staleUntil − now`, so a stale value stays there for fail-safe until it leaves by itself;
 * none for `staleUntil = Infinity`. An entry already stale is not written (its key is deleted instead, as
 * writing it would: with a stamp, that is a tombstone, as below). Reads also check `staleUntil` against the store's clock.
 *
 * **Deletes leave tombstones.** Every delete puts, in place of the key (present or not), a tombstone that
 * carries the delete's stamp for `tombstoneTtl` (see `tombstone.ts`): a write stamped before the delete (a
 * load that started before it and finishes after) is refused while it is there, a newer one replaces it,
 * and every read takes it for a missing key.
 *
 * **Tags in O(1).** Each tag has a version (an integer under its tag key); an entry records the versions of
 * its tags when it is written; `invalidateTags` raises each tag's version to one carrying the invalidation's time (one script per tag); a read
 * fetches the entries, then the current versions of the tags they carry (a second `MGET`), and answers
 * `undefined` for an entry whose versions moved. Invalidation costs one command per tag whatever the number
 * of entries, where a scan (or a tag → keys set) would cost a walk over the keyspace or unbounded sets to
 * keep in step with expiries. A tag gets a random first version when an entry first carries it, and its
 * key expires only after every entry carrying it (its expiry follows the longest-lived one): an entry
 * whose tag key is missing (expired, evicted, deleted) reads as missing, so losing a tag key can never bring
 * an invalidated entry back, and tags that no entry uses any more do not pile up.
 *
 * **Many keys.** On one server, `getMany` is one `MGET` (per 1,000 keys) plus one for tag versions, and
 * `setMany` one pipeline. On a Cluster keys in different slots cannot share a command: each key is its own
 * `GET`/`SET`, sent concurrently, which the client's auto-pipelining groups into one write per node.
 *
 * **Failures.** Every operation runs under a timeout (`timeoutMs`, 500 ms) inside a circuit breaker
 * (cockatiel; 5 failures in a row open it for 5 s, then one trial call): a slow or down Redis costs at most
 * the timeout, then nothing while the circuit is open, and the store recovers by itself once Redis answers.
 * On a Cluster each master has its own breaker: one that fails costs only the keys it owns.
 * Operations reject on failure; `Cache` reports that as `CACHE_L2_ERROR` and carries on with L1 and the
 * factory. A value that cannot be decoded is not a failure: `getMany` answers an `Error` in its slot.
 *
 * @example
 * import { Cache } from '@toolkit/cache';
 * import { RedisStore, RedisBackplane } from '@toolkit/cache-redis';
 *
 * const store = RedisStore.connect(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { prefix: 'shop' });
 * const backplane = RedisBackplane.connect(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { prefix: 'shop' });
 * const cache = new Cache({ ttl: '5m', failSafe: '1h', store, backplane });
 * // …
 * await cache.close();
 * await Promise.all([store.close(), backplane.close()]);
 */
export class RedisStore implements CacheStore {
  /**
   * A store on a client it creates (and closes in {@link RedisStore.close}), from a cache URL
   * (`redis://…`, `rediss://…`, or a comma list of nodes for a Cluster; see `parseCacheUrl`) or a parsed
   * backend. The client has `enableAutoPipelining: true`, `commandTimeout: timeoutMs`,
   * `maxRetriesPerRequest: 1`, and reconnects forever (every 100 ms to 2 s).
   *
   * @example
   * const store = RedisStore.connect('redis://127.0.0.1:6379/0', { prefix: 'shop', version: 'v3' });
   * const clustered = RedisStore.connect('redis://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000');
   */
  static connect(target: RedisTarget, options: RedisStoreConnectOptions = {}): RedisStore {
    checkRedisOptionNames(options, STORE_CONNECT_OPTIONS, 'RedisStore.connect()');
    const { redisOptions, clusterOptions, ...storeOptions } = options;
    // Validate the store's options before a connection is opened.
    storageNamespace(storeOptions.prefix ?? DEFAULT_PREFIX, storeOptions.version ?? DEFAULT_VERSION);
    tombstoneTtlMs(storeOptions.tombstoneTtl);
    const timeoutMs = new RedisGuard(storeOptions).timeoutMs;
    const client = createRedisClient(target, { timeoutMs, connectionName: 'toolkit-cache' }, { redisOptions, clusterOptions });
    // The store listens to the client's errors itself (see onConnectionError): ioredis does not print them.
    const store = new RedisStore({ ...storeOptions, client });
    store.#owned = true;
    return store;
  }

  /** The ioredis client. */
  readonly client: Redis | Cluster;
  /** The key prefix. */
  readonly prefix: string;
  /** The namespace version. */
  readonly version: string;
  /** `${prefix}:${version}:`, the start of every key of this store. */
  readonly namespace: string;
  /** The serializer of entries. */
  readonly serializer: RedisSerializer;

  readonly #guard: RedisGuard;
  /** On a Cluster, one guard per master: operations on keys are guarded by their owner's (see {@link NodeGuards}). */
  readonly #nodes: NodeGuards | undefined;
  readonly #probe: ReconnectProbe;
  readonly #clock: Clock;
  /** Whether {@link close} quits the client: true when {@link RedisStore.connect} made it. */
  #owned = false;
  readonly #entryPrefix: string;
  readonly #tagPrefix: string;
  /** A tombstone's Redis expiry (`PX`), from `tombstoneTtl`. */
  readonly #tombstonePx: string;
  readonly #pending = new Set<Promise<unknown>>();
  /**
   * The last version seen of tags (bounded): a write encodes these, and its script checks them, so a
   * tagged write is one round trip unless a tag moved on since (then one more).
   */
  readonly #knownVersions = new Map<string, number>();
  readonly #connection: ConnectionWatch;

  /**
   * A store on a client you own (and close yourself). The store listens to the client's `'error'` events
   * (see {@link onConnectionError}).
   * @param options the client, namespace, serializer, clock, timeout and breaker
   * @throws TypeError naming the option that is wrong
   */
  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`RedisStore options must be an object, got ${describeValue(options)}`);
    }
    checkRedisOptionNames(options, STORE_OPTIONS, 'RedisStore');
    const { client, prefix = DEFAULT_PREFIX, version = DEFAULT_VERSION, serializer = jsonSerializer, clock = systemClock } = options;
    if (client === null || typeof client !== 'object' || typeof (client as Partial<Redis>).getBuffer !== 'function') {
      throw new TypeError(`\`client\` must be an ioredis Redis or Cluster client, got ${describeValue(client)}`);
    }
    const ioredisPrefix = (client as Redis).options?.keyPrefix ?? (client as Cluster).options?.redisOptions?.keyPrefix;
    if (ioredisPrefix) {
      throw new TypeError(
        `\`client\` has the ioredis option keyPrefix (${describeValue(ioredisPrefix)}), which SCAN results do not carry: give it as the store's \`prefix\` instead`,
      );
    }
    if (serializer === null || typeof serializer?.encode !== 'function' || typeof serializer.decode !== 'function') {
      throw new TypeError(`\`serializer\` must be an object with encode() and decode(), got ${describeValue(serializer)}`);
    }
    if (typeof clock?.now !== 'function') throw new TypeError('`clock` must be an object with a now() method');
    this.namespace = storageNamespace(prefix, version);
    this.#tombstonePx = String(tombstoneTtlMs(options.tombstoneTtl));
    this.#guard = new RedisGuard(options);
    this.client = client;
    this.prefix = prefix;
    this.version = version;
    this.serializer = serializer;
    this.#clock = clock;
    this.#entryPrefix = `${this.namespace}e:`;
    this.#tagPrefix = `${this.namespace}t:`;
    this.#probe = new ReconnectProbe(client, this.#guard);
    this.#nodes = client.isCluster ? new NodeGuards(client as Cluster, options) : undefined;
    this.#connection = new ConnectionWatch(client);
  }

  /**
   * Calls `listener` with each failure of the connection itself (refused, TLS, authentication…), as a
   * `RedisConnectionError` whose message is the client's own (never the password), once per distinct
   * error until the connection is ready again. `Cache` listens to it and emits `CACHE_L2_ERROR` with
   * `operation: 'connection'`. Returns a function that stops listening.
   */
  onConnectionError(listener: (error: Error) => void): () => void {
    return this.#connection.listen(listener);
  }

  /**
   * The circuit breaker's state: `'open'` while Redis is being skipped after repeated failures. On a
   * Cluster, the worst of its masters' breakers (see {@link nodeBreakerStates}).
   */
  get breakerState(): RedisBreakerState {
    const own = this.#guard.state;
    const nodes = this.#nodes?.worstState;
    return nodes === undefined || own !== 'closed' ? own : nodes;
  }

  /**
   * On a Cluster, the state of each master's own breaker, by `"host:port"` (a node that fails opens only
   * its own: the other masters' keys keep their L2); `{}` on a single server.
   */
  get nodeBreakerStates(): Record<string, RedisBreakerState> {
    return this.#nodes?.states ?? {};
  }

  /**
   * Calls `listener` each time the client reconnects (ioredis `'ready'`) and answers a `PING`; the circuit
   * breaker is closed by then. `Cache` uses it to replay at once the writes it could not make meanwhile.
   * Returns a function that stops the calls.
   */
  onAvailable(listener: () => void): () => void {
    const stop = this.#probe.onAvailable(listener);
    const stopNodes = this.#nodes?.onAvailable(listener);
    return stopNodes === undefined
      ? stop
      : () => {
          stop();
          stopNodes();
        };
  }

  /** The Redis key of an entry: `${prefix}:${version}:e:${key}`. */
  entryKey(key: string): string {
    return this.#entryPrefix + key;
  }

  /** The Redis key of a tag's version: `${prefix}:${version}:t:${tag}`. */
  tagKey(tag: string): string {
    return this.#tagPrefix + tag;
  }

  /**
   * Entries for `keys`, in order: `undefined` where missing (a tombstone included), past `staleUntil` by
   * the store's clock, or invalidated by a tag; an `Error` where the bytes cannot be decoded. Two round trips at most (entries,
   * then the versions of their tags).
   */
  getMany(keys: readonly string[]): Promise<Array<StoredEntry | Error | undefined>> {
    return this.#run(async () => {
      if (keys.length === 0) return [];
      const raws = await this.#read(keys.map((key) => this.entryKey(key)));
      const decoded = raws.map((raw, i) =>
        raw === null ? undefined : raw instanceof Error ? raw : isTombstone(raw) ? undefined : this.#decode(keys[i] as string, raw),
      );
      return this.#onlyLive(decoded, this.#clock.now());
    });
  }

  /**
   * Writes entries, each with a Redis expiry at its `staleUntil` (one already stale deletes its key).
   * Each entry is one script, the scripts sent together (one round trip): on a single server the script
   * also creates or extends its tags' version keys, so the entry and its bookkeeping land together or not
   * at all; on a Cluster the tag keys (other slots) are ensured alongside, and an entry written with a
   * version that turns out wrong reads as missing until rewritten. An entry whose `stamp` is older than
   * the stamp of the entry Redis holds is not written (with {@link jsonSerializer}, which the script can
   * read; with other serializers the last write wins).
   */
  setMany(entries: ReadonlyArray<readonly [key: string, entry: StoredEntry]>): Promise<void> {
    return this.#run(async () => {
      if (entries.length === 0) return;
      const now = this.#clock.now();
      for (const [key, entry] of entries) {
        if (entry === null || typeof entry !== 'object' || typeof entry.staleUntil !== 'number' || !Array.isArray(entry.tags)) {
          throw new TypeError(`the entry for ${describeValue(key)} is not a StoredEntry`);
        }
      }
      const nodes = this.#nodes;
      await Promise.all(
        entries.map(([key, entry]) =>
          nodes === undefined ? this.#writeEntry(key, entry, now) : nodes.forKey(this.entryKey(key)).run(() => this.#writeEntry(key, entry, now)),
        ),
      );
    });
  }

  /**
   * Writes `entry` only when `key` holds no live entry: `SET NX PX`; when the key is taken by a tombstone or
   * an entry that is past `staleUntil` by the store's clock, invalidated by a tag or undecodable, it is
   * replaced by a compare-and-swap, so that of many concurrent writers exactly one wins.
   */
  setIfAbsent(key: string, entry: StoredEntry): Promise<boolean> {
    return this.#run(async () => {
      const now = this.#clock.now();
      const [p] = (await this.#prepare([[key, entry]], now)) as [Prepared];
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (p.px !== 'stale') {
          const written = await (p.px === '' ? this.client.set(p.redisKey, p.raw, 'NX') : this.client.set(p.redisKey, p.raw, 'PX', p.px, 'NX'));
          if (written === 'OK') return true;
        }
        const current = await this.client.getBuffer(p.redisKey);
        if (current === null) {
          if (p.px === 'stale') return true;
          continue;
        }
        const buried = isTombstone(current);
        const held = buried ? undefined : this.#decode(key, current);
        if (held !== undefined && !(held instanceof Error) && (await this.#isLive(held, now))) return false;
        if (buried && p.px === 'stale') return true; // nothing to write, and the tombstone stays
        if ((await COMPARE_AND_SET.run(this.client, p.redisKey, [current, '0', p.raw, p.px])) === 1) return true;
      }
      throw new Error(`setIfAbsent(${describeValue(key)}) gave up after ${MAX_ATTEMPTS} conflicting writes`);
    }, this.entryKey(key));
  }

  /**
   * Adds `by` to the number at `key`, atomically; an absent (or dead) key is written as `absent` with the
   * value `by`; a live entry keeps its timeline, tags and Redis expiry. Rejects with a `TypeError` when the
   * value there is not a number.
   *
   * With {@link jsonSerializer} this is one Lua script on the server (two, plus one read of tag versions,
   * when the entry carries tags). With any other serializer the server cannot read the value, so it is an
   * optimistic compare-and-swap: read, decode, add, write only if the bytes did not change (a Lua
   * compare-and-set, not `WATCH`/`MULTI`, which would need a connection of its own), retried when another
   * writer got there first.
   */
  increment(key: string, by: number, absent: StoredEntry<number>): Promise<number> {
    return this.#run(async () => {
      if (typeof by !== 'number' || !Number.isFinite(by)) {
        throw new TypeError(`\`by\` must be a finite number, got ${describeValue(by)}`);
      }
      const now = this.#clock.now();
      const [fresh] = (await this.#prepare([[key, { ...absent, value: by }]], now)) as [Prepared];
      return this.serializer === jsonSerializer ? this.#incrementJson(key, by, now, fresh) : this.#incrementCas(key, by, now, fresh);
    }, this.entryKey(key));
  }

  /**
   * Deletes keys: a tombstone with the delete's `stamp` (default: the store's clock) in place of each, held
   * or not, for `tombstoneTtl`, so that a write stamped earlier that arrives later (a load that started
   * before the delete) is refused. One script per 1,000 keys (per key on a Cluster), one round trip, as a
   * `DEL` would be. Resolves to how many held an entry, dead or invalidated entries included.
   */
  deleteMany(keys: readonly string[], stamp?: number): Promise<number> {
    return this.#run(async () => (keys.length === 0 ? 0 : this.#bury(keys.map((key) => this.entryKey(key)), this.#deleteStamp(stamp))));
  }

  /**
   * Deletes every entry whose key starts with `prefix` (`''`: the whole namespace; tag versions and locks
   * are not entries and stay), by `SCAN MATCH … COUNT 500` + a tombstone for each key found (as
   * {@link deleteMany}) per batch — never `KEYS`, so Redis keeps serving meanwhile — on every master of a
   * Cluster. Keys the scan does not find (not written yet) get none. Glob characters in `prefix` are
   * escaped. The timeout bounds each step (one `SCAN` and its script), not the whole walk.
   */
  deleteByPrefix(prefix: string, stamp?: number): Promise<number> {
    return this.#track(this.#deleteScanned(escapeGlob(this.#entryPrefix) + escapeGlob(prefix) + '*', undefined, stamp));
  }

  /**
   * Deletes every entry whose key matches `pattern`: `*` any run of characters, `?` one character, `\x`
   * the character x, every other character literal (`[` and `]` included): the rule of `compileGlob` in
   * `@toolkit/cache`, which L1 applies too. Scans like {@link deleteByPrefix}.
   */
  deleteMatching(pattern: string, stamp?: number): Promise<number> {
    const matcher = compileGlob(pattern);
    const skip = this.#entryPrefix.length;
    return this.#track(
      this.#deleteScanned(escapeGlob(this.#entryPrefix) + globToScanPattern(pattern), (redisKey) => matcher.test(redisKey.slice(skip)), stamp),
    );
  }

  /**
   * Makes every entry carrying one of `tags` read as missing: a new version of each tag, carrying `stamp`,
   * so that a write stamped before it (a load that started earlier) is refused. The entry
   * whose key equals a tag is deleted too, however it was written (a tombstone in its place, as
   * {@link deleteMany} leaves, with `stamp`: a lookup, no index).
   */
  invalidateTags(tags: readonly string[], stamp?: number): Promise<void> {
    return this.#run(async () => {
      const at = this.#deleteStamp(stamp);
      const unique = [...new Set(tags)];
      await Promise.all([
        ...unique.map(async (tag) => {
          const tagKey = this.tagKey(tag);
          const invalidate = () => INVALIDATE_TAG.run(this.client, tagKey, [at]);
          const version = Number(await (this.#nodes === undefined ? invalidate() : this.#nodes.forKey(tagKey).run(invalidate)));
          if (version > 0) this.#rememberVersion(tag, version);
        }),
        unique.length === 0 ? 0 : this.#bury(unique.map((tag) => this.entryKey(tag)), at),
      ]);
    });
  }

  /**
   * Resolves when Redis answers `PING` (within the timeout, through the breaker). When the connection
   * itself is failing, rejects with a `RedisConnectionError` that names why (the TLS, authentication or
   * network error, password redacted), its `operationError` the timeout or open circuit PING met.
   */
  ping(): Promise<void> {
    return this.#track(
      this.#guard.run(async () => {
        await this.client.ping();
      }),
    ).catch((error: unknown) => {
      throw this.#connection.explain('ping', error);
    });
  }

  /**
   * Waits for every operation in flight, then, if {@link RedisStore.connect} created the client, quits it
   * (`QUIT`: commands already sent get their answers). A client passed in is left open: its owner closes it.
   */
  async close(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    this.#probe.close();
    this.#nodes?.close();
    if (this.#owned) await quitClient(this.client);
    else this.#connection.close(); // a client passed in keeps no listener of ours
  }

  /**
   * Runs an operation under the guard: the one guard of a single server; on a Cluster the guard of the
   * master owning `redisKey`, or, for an operation on many keys, none around the whole: its commands are
   * guarded by their owners' ({@link #read}, {@link #bury}, …).
   */
  #run<T>(operation: () => Promise<T>, redisKey?: string): Promise<T> {
    const nodes = this.#nodes;
    if (nodes === undefined) return this.#track(this.#guard.run(operation));
    return this.#track(redisKey === undefined ? operation() : nodes.forKey(redisKey).run(operation));
  }

  #track<T>(operation: Promise<T>): Promise<T> {
    // An error that holds the password (a command failed with the connection's AUTH error) never leaves.
    const promise = operation.catch((error: unknown) => {
      throw this.#connection.redact(error);
    });
    this.#pending.add(promise);
    const settle = () => this.#pending.delete(promise);
    promise.then(settle, settle);
    return promise;
  }

  /**
   * Raw values of Redis keys, in order. On a Cluster, each master's keys under its own guard: the keys of
   * a master that fails are that failure (an `Error`) in their slots, the others answer; when every master
   * asked fails, this rejects.
   */
  async #read(redisKeys: readonly string[]): Promise<Array<Buffer | null | Error>> {
    if (this.#nodes !== undefined) {
      const raws = new Array<Buffer | null | Error>(redisKeys.length);
      const groups = this.#nodes.group(redisKeys);
      const failures = await Promise.all(
        groups.map(async ({ node, guard, indexes }) => {
          try {
            const values = await guard.run(() => Promise.all(indexes.map((i) => this.client.getBuffer(redisKeys[i] as string))));
            indexes.forEach((index, i) => (raws[index] = values[i] as Buffer | null));
            return undefined;
          } catch (error) {
            const failed = new Error(`the Redis Cluster node ${node} failed to answer: ${String((error as Error)?.message ?? error)}`, {
              cause: this.#connection.redact(error),
            });
            for (const index of indexes) raws[index] = failed;
            return error;
          }
        }),
      );
      if (failures.every((failure) => failure !== undefined)) throw failures[0];
      return raws;
    }
    const chunks = await Promise.all(chunked(redisKeys).map((chunk) => this.client.mgetBuffer(chunk)));
    return chunks.flat();
  }

  /** {@link DELETE_ENTRIES} on Redis keys; resolves to how many held an entry. */
  async #bury(redisKeys: readonly string[], stamp: string): Promise<number> {
    const args = [stamp, this.#tombstonePx];
    const nodes = this.#nodes;
    const counts = nodes !== undefined
      ? await Promise.all(
          nodes
            .group(redisKeys)
            .map(({ guard, indexes }) => guard.run(() => Promise.all(indexes.map((i) => DELETE_ENTRIES.run(this.client, redisKeys[i] as string, args))))),
        ).then((groups) => groups.flat())
      : await Promise.all(chunked(redisKeys).map((chunk) => DELETE_ENTRIES.run(this.client, chunk, args)));
    return counts.reduce((a: number, b) => a + Number(b), 0);
  }

  /** A delete's stamp for the scripts: the caller's, else the store's clock. */
  #deleteStamp(stamp: number | undefined): string {
    if (stamp === undefined) return String(this.#clock.now());
    if (typeof stamp !== 'number' || !Number.isFinite(stamp)) {
      throw new TypeError(`a delete's \`stamp\` must be a finite number of ms since the epoch, got ${describeValue(stamp)}`);
    }
    return String(stamp);
  }

  #decode(key: string, raw: Buffer): VersionedEntry | Error {
    let decoded: unknown;
    try {
      decoded = this.serializer.decode(raw);
    } catch (error) {
      return new Error(`the L2 value under ${describeValue(key)} cannot be decoded by the ${this.serializer.name} serializer`, { cause: error });
    }
    if (!isVersionedEntry(decoded)) {
      return new Error(`the L2 value under ${describeValue(key)} is not a cache entry (${this.serializer.name} serializer)`);
    }
    return decoded;
  }

  /**
   * `undefined` for every entry past `staleUntil` or whose tags moved on; the others without their versions
   * (an `Error` for one whose tag versions live on a Cluster node that failed to answer).
   */
  async #onlyLive(entries: Array<VersionedEntry | Error | undefined>, now: number): Promise<Array<StoredEntry | Error | undefined>> {
    const tags = new Set<string>();
    for (const entry of entries) {
      if (entry !== undefined && !(entry instanceof Error) && now < entry.staleUntil) for (const tag of entry.tags) tags.add(tag);
    }
    const current = await this.#tagVersions([...tags]);
    return entries.map((entry) => {
      if (entry === undefined || entry instanceof Error) return entry;
      if (!(now < entry.staleUntil)) return undefined;
      for (const tag of entry.tags) {
        const version = current.get(tag);
        if (version instanceof Error) return version;
      }
      if (!entry.tags.every((tag, i) => current.get(tag) === entry.versions[i])) return undefined;
      return { value: entry.value, freshUntil: entry.freshUntil, staleUntil: entry.staleUntil, tags: entry.tags };
    });
  }

  async #isLive(entry: VersionedEntry, now: number): Promise<boolean> {
    const [live] = await this.#onlyLive([entry], now);
    return live !== undefined;
  }

  /**
   * Current versions of tags, as they are (a missing tag key has none: entries carrying it are dead); on a
   * Cluster, an `Error` for a tag whose node failed to answer.
   */
  async #tagVersions(tags: readonly string[]): Promise<Map<string, number | Error>> {
    const versions = new Map<string, number | Error>();
    if (tags.length === 0) return versions;
    const raws = await this.#read(tags.map((tag) => this.tagKey(tag)));
    raws.forEach((raw, i) => {
      if (raw instanceof Error) {
        versions.set(tags[i] as string, raw);
        return;
      }
      const version = raw === null ? Number.NaN : Number(raw.toString());
      if (Number.isSafeInteger(version)) {
        versions.set(tags[i] as string, version);
        this.#rememberVersion(tags[i] as string, version);
      }
    });
    return versions;
  }

  /** Encodes entries with the versions of their tags (created and kept alive as long as the entries need). */
  async #prepare(entries: ReadonlyArray<readonly [string, StoredEntry]>, now: number): Promise<Prepared[]> {
    const lives = entries.map(([key, entry]) => {
      if (entry === null || typeof entry !== 'object' || typeof entry.staleUntil !== 'number' || !Array.isArray(entry.tags)) {
        throw new TypeError(`the entry for ${describeValue(key)} is not a StoredEntry`);
      }
      return entry.staleUntil === Infinity ? Infinity : Math.ceil(entry.staleUntil - now);
    });
    const needed = new Map<string, number>();
    entries.forEach(([, entry], i) => {
      const life = lives[i] as number;
      if (life > 0) for (const tag of entry.tags) needed.set(tag, Math.max(needed.get(tag) ?? 0, life));
    });
    const versions = new Map<string, number>();
    await Promise.all(
      [...needed].map(async ([tag, life]) => {
        const ttl = life === Infinity ? '' : String(life + TAG_TTL_MARGIN_MS);
        const version = await TAG_VERSION.run(this.client, this.tagKey(tag), [String(randomInt(1, 2 ** 47)), ttl]);
        versions.set(tag, Number(version));
      }),
    );
    return entries.map(([key, entry], i) => {
      const life = lives[i] as number;
      const redisKey = this.entryKey(key);
      if (!(life > 0)) return { redisKey, raw: '', px: 'stale' };
      const raw = this.serializer.encode({
        value: entry.value,
        freshUntil: entry.freshUntil,
        staleUntil: entry.staleUntil,
        tags: [...entry.tags],
        versions: entry.tags.map((tag) => versions.get(tag) as number),
      });
      return { redisKey, raw, px: life === Infinity ? '' : String(life) };
    });
  }

  /** One entry of {@link setMany}: {@link WRITE_ENTRY}, again with the right versions if a tag moved on. */
  async #writeEntry(key: string, entry: StoredEntry, now: number): Promise<void> {
    const redisKey = this.entryKey(key);
    const life = entry.staleUntil === Infinity ? Infinity : Math.ceil(entry.staleUntil - now);
    const stamp = typeof entry.stamp === 'number' && Number.isFinite(entry.stamp) ? entry.stamp : undefined;
    const order = stamp === undefined ? 'any' : this.serializer === jsonSerializer ? 'json' : 'read';
    const px = !(life > 0) ? 'stale' : life === Infinity ? '' : String(life);
    const tagTtl = life === Infinity ? '' : String(life + TAG_TTL_MARGIN_MS);
    const tags = px === 'stale' ? [] : [...entry.tags];
    let versions = tags.map((tag) => this.#knownVersions.get(tag) ?? randomInt(1, 2 ** 47));
    // A tag known to have been invalidated after the load started: its value must not land (the write
    // script checks this too, but on a Cluster the tags live elsewhere).
    if (stamp !== undefined && versions.some((v) => (invalidatedAt(v) ?? -Infinity) > stamp)) return;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      // Another serializer's bytes, which the script cannot read: the stamp there is read here, and the
      // script writes only if the key still holds what was read (one more round trip).
      let check: [string, string | Buffer] = [order === 'read' ? 'absent' : order, ''];
      if (order === 'read') {
        const held = await this.client.getBuffer(redisKey);
        if (held !== null) {
          const decoded = isTombstone(held) ? { stamp: tombstoneStamp(held) } : this.#decode(key, held);
          if (!(decoded instanceof Error) && typeof decoded.stamp === 'number' && decoded.stamp > (stamp as number)) return;
          check = ['same', held];
        }
      }
      const raw =
        px === 'stale'
          ? ''
          : this.serializer.encode({
              value: entry.value,
              freshUntil: entry.freshUntil,
              staleUntil: entry.staleUntil,
              tags,
              versions,
              ...(stamp === undefined ? {} : { stamp }),
            });
      const args = [stamp === undefined ? '' : String(stamp), px, raw, ...check, this.serializer === jsonSerializer ? '1' : '0', this.#tombstonePx];
      let reply: string[];
      if (tags.length === 0 || !this.client.isCluster) {
        const tagArgs = tags.flatMap((_, i) => [String(versions[i]), tagTtl]);
        reply = (await WRITE_ENTRY.run(this.client, [redisKey, ...tags.map((tag) => this.tagKey(tag))], [...args, ...tagArgs])) as string[];
      } else {
        const [written, ...actual] = await Promise.all([
          WRITE_ENTRY.run(this.client, redisKey, args) as Promise<string[]>,
          ...tags.map((tag, i) => TAG_VERSION.run(this.client, this.tagKey(tag), [String(versions[i]), tagTtl])),
        ]);
        if (written[0] !== 'ok') reply = written;
        else if (actual.every((v, i) => Number(v) === versions[i])) reply = ['ok', ...versions.map(String)];
        else if (stamp !== undefined && actual.some((v) => (invalidatedAt(Number(v)) ?? -Infinity) > stamp)) {
          // A tag was invalidated after the load started: the entry went in with its old version (it reads
          // as missing), and must not be written again with the new one.
          actual.forEach((v, i) => this.#rememberVersion(tags[i] as string, Number(v)));
          return;
        } else reply = ['versions', ...actual.map(String)]; // written with a wrong version (reads as missing): again
      }
      if (reply[0] === 'changed') continue; // another write landed between the read and the script
      if (reply[0] === 'older') return; // a later write is there: nothing to do
      versions = reply.slice(1).map(Number);
      tags.forEach((tag, i) => this.#rememberVersion(tag, versions[i] as number));
      if (reply[0] === 'ok') return;
    }
    throw new Error(`setMany gave up on ${describeValue(key)} after ${MAX_ATTEMPTS} conflicting writes or tag invalidations`);
  }

  #rememberVersion(tag: string, version: number): void {
    if (!this.#knownVersions.has(tag) && this.#knownVersions.size >= KNOWN_TAG_VERSIONS) {
      this.#knownVersions.delete(this.#knownVersions.keys().next().value as string);
    }
    this.#knownVersions.set(tag, version);
  }

  async #incrementJson(key: string, by: number, now: number, fresh: Prepared): Promise<number> {
    const known = new Map<string, number | null>();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const reply = (await INCREMENT_JSON.run(this.client, fresh.redisKey, [
        String(by),
        String(now),
        fresh.raw,
        fresh.px,
        JSON.stringify(Object.fromEntries(known)),
      ])) as [string, string];
      const [status, detail] = reply;
      if (status === 'ok') return Number(detail);
      if (status === 'nan') throw notANumber(key, JSON_KINDS[detail] ?? 'something else');
      if (status === 'range') throw new RangeError(`incrementing ${describeValue(key)} by ${by} leaves the finite numbers`);
      const tags = JSON.parse(detail) as string[];
      const current = await this.#tagVersions(tags);
      for (const tag of tags) {
        const version = current.get(tag);
        if (version instanceof Error) throw version;
        known.set(tag, version ?? null);
      }
    }
    throw new Error(`increment(${describeValue(key)}) gave up after ${MAX_ATTEMPTS} conflicting writes`);
  }

  async #incrementCas(key: string, by: number, now: number, fresh: Prepared): Promise<number> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.client.getBuffer(fresh.redisKey);
      const held = current === null || isTombstone(current) ? undefined : this.#decode(key, current);
      if (held !== undefined && !(held instanceof Error) && (await this.#isLive(held, now))) {
        if (typeof held.value !== 'number') throw notANumber(key, held.value === null ? 'null' : typeof held.value);
        const next = held.value + by;
        if (!Number.isFinite(next)) throw new RangeError(`incrementing ${describeValue(key)} by ${by} leaves the finite numbers`);
        const raw = this.serializer.encode({ ...held, value: next });
        if ((await COMPARE_AND_SET.run(this.client, fresh.redisKey, [current as Buffer, '0', raw, 'keep'])) === 1) return next;
      } else {
        const expected: [string | Buffer, string] = current === null ? ['', '1'] : [current, '0'];
        if ((await COMPARE_AND_SET.run(this.client, fresh.redisKey, [...expected, fresh.raw, fresh.px])) === 1) return by;
      }
    }
    throw new Error(`increment(${describeValue(key)}) gave up after ${MAX_ATTEMPTS} conflicting writes`);
  }

  async #deleteScanned(match: string, keep: ((redisKey: string) => boolean) | undefined, stamp: number | undefined): Promise<number> {
    const at = this.#deleteStamp(stamp);
    const nodes = this.client.isCluster ? await this.#masters(this.client as Cluster) : [this.client as Redis];
    const counts = await Promise.all(
      nodes.map(async (node) => {
        let deleted = 0;
        let cursor = '0';
        const guard = this.#nodes?.forNode(`${node.options.host}:${node.options.port}`) ?? this.#guard;
        do {
          deleted += await guard.run(async () => {
            const [next, found] = await node.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT);
            cursor = next;
            const doomed = keep === undefined ? found : found.filter(keep);
            return doomed.length === 0 ? 0 : this.#bury(doomed, at);
          });
        } while (cursor !== '0');
        return deleted;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  async #masters(cluster: Cluster): Promise<Redis[]> {
    // The node list fills in once the client has connected.
    if (cluster.status !== 'ready') await this.#guard.run(() => cluster.ping());
    const masters = cluster.nodes('master');
    if (masters.length === 0) throw new Error('the Cluster client knows no master node to scan');
    return masters;
  }
}

/** What the first character of a JSON value says it is. */
const JSON_KINDS: Record<string, string> = { '"': 'string', '{': 'object', '[': 'array', t: 'boolean', f: 'boolean', n: 'null', '': 'undefined' };

function notANumber(key: string, kind: string): TypeError {
  return new TypeError(`cannot increment ${describeValue(key)}: it holds ${kind === 'undefined' || kind === 'null' ? kind : `a ${kind}`}, not a number`);
}

function isVersionedEntry(value: unknown): value is VersionedEntry {
  if (value === null || typeof value !== 'object') return false;
  const e = value as Partial<VersionedEntry>;
  return (
    typeof e.freshUntil === 'number' &&
    typeof e.staleUntil === 'number' &&
    !Number.isNaN(e.freshUntil) &&
    !Number.isNaN(e.staleUntil) &&
    Array.isArray(e.tags) &&
    e.tags.every((tag) => typeof tag === 'string') &&
    Array.isArray(e.versions) &&
    e.versions.length === e.tags.length &&
    e.versions.every((version) => typeof version === 'number')
  );
}

function chunked<T>(items: readonly T[]): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) chunks.push(items.slice(i, i + CHUNK));
  return chunks;
}
