import { describeValue, toMs } from '@toolkit/cache';
import type { Duration } from '@toolkit/cache';

/**
 * What a delete leaves under an entry's key: a tombstone, `{"d":1,"w":stamp}` and a newline, whatever the
 * serializer, for `tombstoneTtl`. It is the header line {@link jsonSerializer} writes, with `"w"` (the stamp
 * RedisStore's ordered write compares) set to the delete's time, so a write stamped before the delete (a
 * load that started earlier and finishes later) is refused, and a newer one replaces it. Every read takes
 * it for a missing key. Entries never start with `{"d":` (a JSON entry starts `{"f":`, a v8 one with a
 * version byte); a custom serializer must not write bytes starting so either.
 */

/** The first bytes of every tombstone, and of nothing else. */
const TOMBSTONE_HEAD = Buffer.from('{"d":');

/**
 * How long a tombstone stays by default: the longest load it still stops is one that writes 60 s after
 * it started. That covers, with the cache's defaults, a wait for the distributed lock up to its
 * `lockWaitTimeout` (30 s) and the store's read and write (each up to `timeoutMs`, 500 ms), with 29 s
 * left for the factory itself (whose `hardTimeout` is unbounded by default).
 */
export const DEFAULT_TOMBSTONE_TTL_MS = 60_000;

/**
 * Lua helpers for scripts that meet tombstones: `tombstone(stamp)` the bytes of one, `tombstoneStamp(raw)`
 * the stamp (a string, as written) of the one in `raw`, `nil` when `raw` is no tombstone.
 */
export const LUA_TOMBSTONE = `
local function tombstone(stamp) return '{"d":1,"w":' .. stamp .. '}\\n' end
local function tombstoneStamp(raw)
  if string.sub(raw, 1, 5) ~= '{"d":' then return nil end
  return string.match(raw, '^{"d":1,"w":([^}]*)}')
end
`;

/** Whether `raw` is a tombstone (no allocation: a read of a live entry pays five byte compares). */
export function isTombstone(raw: Buffer): boolean {
  return raw.length > TOMBSTONE_HEAD.length && TOMBSTONE_HEAD.compare(raw, 0, TOMBSTONE_HEAD.length) === 0;
}

/** The bytes of a tombstone before its stamp. */
const STAMP_AT = '{"d":1,"w":'.length;

/** The delete's stamp a tombstone carries (`NaN` if unreadable: it then orders nothing, as in the scripts). */
export function tombstoneStamp(raw: Buffer): number {
  return Number(raw.toString('latin1', STAMP_AT, raw.indexOf(0x7d /* } */)));
}

/** The `tombstoneTtl` option in whole ms (Redis `PX`), or a `TypeError`/`RangeError` naming it. */
export function tombstoneTtlMs(value: Duration | undefined): number {
  if (value === undefined) return DEFAULT_TOMBSTONE_TTL_MS;
  const ms = toMs(value, 'tombstoneTtl');
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new RangeError(`\`tombstoneTtl\` must be positive and finite (a delete must not leave a key forever), got ${describeValue(value)}`);
  }
  return Math.ceil(ms);
}
