import { parseCacheControl } from './cacheControl';
import { ifNoneMatch } from './etag';

describe('parseCacheControl', () => {
  it('reads directives, arguments and quoted lists', () => {
    expect([...parseCacheControl('Public, MAX-AGE=60, no-cache="set-cookie, x-a", ,')]).toEqual([
      ['public', ''],
      ['max-age', '60'],
      ['no-cache', 'set-cookie, x-a'],
    ]);
    expect(parseCacheControl(undefined).size).toBe(0);
  });
});

describe('ifNoneMatch', () => {
  it('compares weakly, in lists, and matches *', () => {
    expect(ifNoneMatch('"a", "b"', '"b"')).toBe(true);
    expect(ifNoneMatch('W/"b"', '"b"')).toBe(true);
    expect(ifNoneMatch('"b"', 'W/"b"')).toBe(true);
    expect(ifNoneMatch('*', '"x"')).toBe(true);
    expect(ifNoneMatch('"a"', '"b"')).toBe(false);
    expect(ifNoneMatch(undefined, '"b"')).toBe(false);
  });
});
