import { retryAfterMs } from '../index';

const NOW = Date.parse('2030-06-15T12:00:00.000Z');

describe('retryAfterMs: error.retryAfter (milliseconds)', () => {
  it('reads a number of milliseconds', () => {
    expect(retryAfterMs({ retryAfter: 1500 })).toBe(1500);
    expect(retryAfterMs(Object.assign(new Error('429'), { retryAfter: 250 }))).toBe(250);
    expect(retryAfterMs({ retryAfter: 0 })).toBe(0);
  });

  it('ignores a negative, infinite, NaN or non-number retryAfter', () => {
    expect(retryAfterMs({ retryAfter: -1 })).toBeUndefined();
    expect(retryAfterMs({ retryAfter: Number.POSITIVE_INFINITY })).toBeUndefined();
    expect(retryAfterMs({ retryAfter: Number.NaN })).toBeUndefined();
    expect(retryAfterMs({ retryAfter: '1500' })).toBeUndefined();
  });

  it('prefers retryAfter over a header', () => {
    expect(retryAfterMs({ retryAfter: 100, headers: { 'retry-after': '9' } })).toBe(100);
  });

  it('falls back to the header when retryAfter is unusable', () => {
    expect(retryAfterMs({ retryAfter: -5, headers: { 'retry-after': '2' } })).toBe(2000);
  });
});

describe('retryAfterMs: Retry-After header in seconds', () => {
  it("reads headers['retry-after'] as seconds", () => {
    expect(retryAfterMs({ headers: { 'retry-after': '3' } })).toBe(3000);
    expect(retryAfterMs({ headers: { 'retry-after': '0' } })).toBe(0);
    expect(retryAfterMs({ headers: { 'retry-after': '120' } })).toBe(120_000);
  });

  it('accepts fractional seconds and surrounding spaces', () => {
    expect(retryAfterMs({ headers: { 'retry-after': '1.5' } })).toBe(1500);
    expect(retryAfterMs({ headers: { 'retry-after': '  7 ' } })).toBe(7000);
  });

  it('matches the header name in any case', () => {
    expect(retryAfterMs({ headers: { 'Retry-After': '4' } })).toBe(4000);
    expect(retryAfterMs({ headers: { 'RETRY-AFTER': '5' } })).toBe(5000);
  });

  it('reads a numeric header value and the first of an array of values', () => {
    expect(retryAfterMs({ headers: { 'retry-after': 6 } })).toBe(6000);
    expect(retryAfterMs({ headers: { 'retry-after': ['8', '9'] } })).toBe(8000);
  });

  it('reads response.headers as a plain object', () => {
    expect(retryAfterMs({ response: { status: 429, headers: { 'retry-after': '2' } } })).toBe(2000);
  });

  it('reads a Headers object, in headers or response.headers', () => {
    expect(retryAfterMs({ headers: new Headers({ 'Retry-After': '3' }) })).toBe(3000);
    expect(retryAfterMs({ response: { headers: new Headers({ 'retry-after': '11' }) } })).toBe(11_000);
  });

  it('reads any headers object with a get() method (a Map, for instance)', () => {
    expect(retryAfterMs({ headers: new Map([['retry-after', '12']]) })).toBe(12_000);
  });

  it('looks in response.headers when headers has no Retry-After', () => {
    expect(retryAfterMs({ headers: { 'content-type': 'text/plain' }, response: { headers: { 'retry-after': '1' } } })).toBe(1000);
    expect(retryAfterMs({ headers: new Headers(), response: { headers: new Headers({ 'retry-after': '2' }) } })).toBe(2000);
  });
});

describe('retryAfterMs: Retry-After header as an HTTP date', () => {
  it('returns the time from now until that date', () => {
    const at = new Date(NOW + 30_000).toUTCString(); // IMF-fixdate: "Sat, 15 Jun 2030 12:00:30 GMT"
    expect(at).toMatch(/GMT$/);
    expect(retryAfterMs({ headers: { 'retry-after': at } }, NOW)).toBe(30_000);
    expect(retryAfterMs({ response: { headers: new Headers({ 'retry-after': at }) } }, NOW)).toBe(30_000);
  });

  it('reads a literal IMF-fixdate', () => {
    const now = Date.parse('2015-10-21T07:27:00Z');
    expect(retryAfterMs({ headers: { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' } }, now)).toBe(60_000);
  });

  it('reads the obsolete RFC 850 form', () => {
    const now = Date.parse('1994-11-06T08:49:00Z');
    expect(retryAfterMs({ headers: { 'retry-after': 'Sunday, 06-Nov-94 08:49:37 GMT' } }, now)).toBe(37_000);
  });

  it('returns undefined for a date-like value that is no date', () => {
    expect(retryAfterMs({ headers: { 'retry-after': 'Wed, 99 Foo 2015 99:99:99 GMT' } }, NOW)).toBeUndefined();
  });

  it('gives 0 for a date in the past', () => {
    const at = new Date(NOW - 60_000).toUTCString();
    expect(retryAfterMs({ headers: { 'retry-after': at } }, NOW)).toBe(0);
  });

  it('uses the current time by default', () => {
    jest.useFakeTimers({ now: NOW });
    try {
      const at = new Date(NOW + 5000).toUTCString();
      expect(retryAfterMs({ headers: { 'retry-after': at } })).toBe(5000);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('retryAfterMs: nothing to read', () => {
  it('returns undefined for values that are not objects', () => {
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('retry-after: 5')).toBeUndefined();
    expect(retryAfterMs(5)).toBeUndefined();
  });

  it('returns undefined for an error without a hint', () => {
    expect(retryAfterMs(new Error('plain'))).toBeUndefined();
    expect(retryAfterMs({ headers: {} })).toBeUndefined();
    expect(retryAfterMs({ headers: new Headers({ 'content-type': 'text/plain' }) })).toBeUndefined();
    expect(retryAfterMs({ headers: 'retry-after: 5' })).toBeUndefined();
    expect(retryAfterMs({ response: null })).toBeUndefined();
  });

  it.each([
    ['a word', 'soon'],
    ['an empty value', ''],
    ['blanks', '   '],
    ['a unit suffix', '5s'],
    ['exponent notation', '1e3'],
    ['hex', '0x10'],
    ['a list', '120, 60'],
    ['a negative number', '-5'],
    ['a word and a year', 'later 2099'],
    ['a dotted version', '1.5.3'],
  ])('returns undefined for garbage: %s (%j)', (_what, value) => {
    expect(retryAfterMs({ headers: { 'retry-after': value } }, NOW)).toBeUndefined();
  });

  it('returns undefined for a header value of the wrong type', () => {
    expect(retryAfterMs({ headers: { 'retry-after': true } })).toBeUndefined();
    expect(retryAfterMs({ headers: { 'retry-after': [5] } })).toBeUndefined();
    expect(retryAfterMs({ headers: { 'retry-after': null } })).toBeUndefined();
  });
});
