/**
 * A server's hint of when to try again, in milliseconds, read from an error: `retryAfter` (ms), or an
 * HTTP `Retry-After` header (seconds, or an HTTP date) in `headers` or `response.headers` (a plain object
 * or a `Headers`). `undefined` when there is none, or it cannot be read.
 *
 * @param now the current time, to turn an HTTP date into a delay
 */
export function retryAfterMs(error: unknown, now = Date.now()): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { retryAfter?: unknown; headers?: unknown; response?: { headers?: unknown } };
  if (typeof e.retryAfter === 'number' && Number.isFinite(e.retryAfter) && e.retryAfter >= 0) return e.retryAfter;
  const header = headerValue(e.headers) ?? headerValue(e.response?.headers);
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  // Date.parse alone reads garbage such as '-5' or 'later 2099' as dates: require an HTTP date's month and time.
  if (!httpDate.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** IMF-fixdate, RFC 850 and asctime dates all have a month name and an hh:mm:ss time of day. */
const httpDate = /\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\b.*\b\d{2}:\d{2}:\d{2}\b/i;

function headerValue(headers: unknown): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') {
    const value: unknown = get.call(headers, 'retry-after');
    return typeof value === 'string' ? value : undefined;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'retry-after') continue;
    if (typeof value === 'string') return value;
    if (typeof value === 'number') return String(value);
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  }
  return undefined;
}
