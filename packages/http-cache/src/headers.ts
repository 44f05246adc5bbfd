/** Response headers as frameworks hand them over: names in any case, values a string, a number or a list. */
export type HeaderBag = Record<string, string | number | readonly string[] | undefined>;

/** Request headers as Node parses them: lowercase names. */
export type RequestHeaders = Record<string, string | readonly string[] | undefined>;

/** Headers as this package stores and serves them: lowercase names, string or list values. */
export type StoredHeaders = Record<string, string | string[]>;

/**
 * Headers never stored with a response: hop-by-hop ones (RFC 9110 §7.6.1), the ones recomputed on every
 * answer (`age`, `date`, `content-length`) and ours.
 */
const UNSTORED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'content-length',
  'date',
  'age',
]);

/** Lowercases names, drops empty values and the headers in {@link UNSTORED} (and `extra`). @internal */
export function storableHeaders(headers: HeaderBag, extra: readonly string[] = []): StoredHeaders {
  const out: StoredHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || UNSTORED.has(lower) || extra.includes(lower)) continue;
    out[lower] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return out;
}

/** One header of a request or response, lists joined by `, `; `undefined` when absent. @internal */
export function headerValue(headers: HeaderBag | RequestHeaders, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower || value === undefined) continue;
    return Array.isArray(value) ? value.join(', ') : String(value);
  }
  return undefined;
}
