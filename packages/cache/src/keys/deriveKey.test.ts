import { deriveKey } from './deriveKey';

describe('deriveKey', () => {
  it('never lets a string collide with the number, boolean or null it spells', () => {
    const keys = [
      deriveKey(['1']),
      deriveKey([1]),
      deriveKey(['#1']),
      deriveKey([true]),
      deriveKey(['true']),
      deriveKey(['!t']),
      deriveKey([null]),
      deriveKey(['null']),
      deriveKey([1n]),
      deriveKey(['#1n']),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('tells null from undefined in every position', () => {
    expect(deriveKey([null, 1])).not.toBe(deriveKey([undefined, 1]));
    expect(deriveKey([null])).not.toBe(deriveKey([]));
  });

  it('treats f() and f(undefined) (and trailing undefined arguments) as the same call', () => {
    expect(deriveKey([undefined])).toBe(deriveKey([]));
    expect(deriveKey([1, undefined, undefined])).toBe(deriveKey([1]));
  });

  it('keeps the empty string apart from no arguments', () => {
    expect(deriveKey([''])).not.toBe(deriveKey([]));
  });

  it('uses a plain string argument as its own key (no copy on the hot path)', () => {
    expect(deriveKey(['user-42'])).toBe('user-42');
  });

  it('is stable across the key order of object arguments', () => {
    expect(deriveKey([{ a: 1, b: { c: 2, d: 3 } }])).toBe(deriveKey([{ b: { d: 3, c: 2 }, a: 1 }]));
  });

  it('tells apart argument lists that only look alike', () => {
    const keys = [
      deriveKey(['a', 'b']),
      deriveKey(['a,b']),
      deriveKey([['a', 'b']]),
      deriveKey(['a', ['b']]),
      deriveKey([1, 2]),
      deriveKey(['1', 2]),
      deriveKey([{ a: 1 }]),
      deriveKey([{ a: '1' }]),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('skips leading arguments with skip', () => {
    expect(deriveKey([{ db: 'conn' }, 42], 1)).toBe(deriveKey([42]));
    expect(deriveKey(['ctx-a', 'x'], 1)).toBe(deriveKey(['ctx-b', 'x'], 1));
  });

  it('rejects circular arguments with a TypeError that says what to do', () => {
    const loop: Record<string, unknown> = { id: 1 };
    loop.self = loop;
    expect(() => deriveKey([loop], 0, 'getUser')).toThrow(TypeError);
    expect(() => deriveKey([loop], 0, 'getUser')).toThrow(/argument 0 of getUser .*`key` function/);
  });

  it('rejects functions, symbols, Maps and Sets', () => {
    expect(() => deriveKey([() => 1])).toThrow(/is a function .*cannot be part of a cache key/);
    expect(() => deriveKey([Symbol('s')])).toThrow(/is a symbol/);
    expect(() => deriveKey([new Map([[1, 2]])])).toThrow(/Map, which JSON cannot represent/);
    expect(() => deriveKey([1, new Set([1])])).toThrow(/argument 1 .* Set/);
  });

  it('rejects bigints nested inside objects with a clear error', () => {
    expect(() => deriveKey([{ id: 1n }])).toThrow(/cannot be serialised into a cache key/);
  });
});
