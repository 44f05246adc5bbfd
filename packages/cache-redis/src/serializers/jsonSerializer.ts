import { describeValue } from '@toolkit/cache';
import type { RedisSerializer, VersionedEntry } from './RedisSerializer';

/** The first line of a JSON-encoded entry: its timeline, tags and tag versions. */
interface JsonHeader {
  /** `freshUntil`, `null` for Infinity (which JSON cannot write). */
  f: number | null;
  /** `staleUntil`, `null` for Infinity. */
  s: number | null;
  /** tags */
  t: readonly string[];
  /** tag versions */
  v: readonly number[];
  /** the write's stamp, when it has one (RedisStore's write script compares it) */
  w?: number;
}

/**
 * The default serializer: two lines of JSON, a header `{"f":freshUntil,"s":staleUntil,"t":[tags],"v":[versions],"w":stamp}`
 * (`null` for an `Infinity` that JSON cannot write; `w` only when the entry has a stamp), a newline, then `JSON.stringify(value)` (empty for
 * `undefined`). `JSON.stringify` never writes a raw newline, so the first one always ends the header.
 *
 * Why this shape: the value stays plain JSON that any client can read, and the store's Lua scripts find the
 * timeline without parsing the value, and rewrite a number in place: with this serializer `increment` is
 * one atomic script on the server.
 *
 * Trade-offs: values come back as JSON gives them: a `Date` becomes an ISO string, `Map`/`Set` become
 * `{}`, `undefined` object fields disappear, `NaN`/`Infinity` become `null`, and a `BigInt` cannot be
 * encoded (a `TypeError`, reported by the cache as an L2 error; the value still lives in L1). Use
 * {@link v8Serializer} to keep those types, or a msgpackr-based serializer for speed.
 */
export const jsonSerializer: RedisSerializer = {
  name: 'json',
  encode(entry: VersionedEntry): string {
    const header: JsonHeader = {
      f: finiteOrNull(entry.freshUntil),
      s: finiteOrNull(entry.staleUntil),
      t: entry.tags,
      v: entry.versions,
      ...(typeof entry.stamp === 'number' ? { w: entry.stamp } : {}),
    };
    let value: string | undefined;
    if (entry.value === undefined) {
      value = '';
    } else {
      value = JSON.stringify(entry.value);
      if (value === undefined) throw new TypeError(`the JSON serializer cannot encode ${describeValue(entry.value)}`);
    }
    return `${JSON.stringify(header)}\n${value}`;
  },
  decode(raw: Buffer): VersionedEntry {
    const text = raw.toString('utf8');
    const newline = text.indexOf('\n');
    if (newline < 0) throw new TypeError('not a JSON-encoded cache entry: no header line');
    const header = JSON.parse(text.slice(0, newline)) as Partial<JsonHeader> | null;
    if (header === null || typeof header !== 'object') throw new TypeError('not a JSON-encoded cache entry: bad header');
    const body = text.slice(newline + 1);
    return {
      value: body === '' ? undefined : (JSON.parse(body) as unknown),
      freshUntil: header.f === null ? Infinity : (header.f as number),
      staleUntil: header.s === null ? Infinity : (header.s as number),
      tags: header.t as string[],
      versions: header.v as number[],
      ...(typeof header.w === 'number' ? { stamp: header.w } : {}),
    };
  },
};

function finiteOrNull(time: number): number | null {
  return time === Infinity ? null : time;
}
