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

  it('rejects functions, symbols, Maps and Sets, naming the argument and saying what to do', () => {
    expect(() => deriveKey([() => 1], 0, 'getUser')).toThrow(
      'argument 0 of getUser (`args[0]`) is a function, which cannot be part of a cache key: ' +
        'pass a `key` function or template that picks the fields that identify the call, or `skipArgs` to leave leading arguments out',
    );
    expect(() => deriveKey([Symbol('s')])).toThrow(/^argument 0 of the function \(`args\[0\]`\) is a symbol, /);
    expect(() => deriveKey([new Map([[1, 2]])])).toThrow(
      'argument 0 of the function (`args[0]`) is a Map, which cannot be part of a cache key: ' +
        'convert it to an array (of entries) or a plain object, or pass a `key` function or template',
    );
    expect(() => deriveKey([1, new Set([1])])).toThrow(/^argument 1 of the function \(`args\[1\]`\) is a Set, /);
  });

  it('names the path to a value it refuses inside an argument', () => {
    expect(() => deriveKey([1, { filters: [{ 'in-stock': new WeakSet() }] }], 0, 'search')).toThrow(
      /^argument 1 of search has a WeakSet at `args\[1\]\.filters\[0\]\["in-stock"\]`, which cannot be part of a cache key: /,
    );
    expect(() => deriveKey([{ onDone: () => 1 }])).toThrow(/has a function at `args\[0\]\.onDone`/);
  });

  // Issue 11, item 5: each of these used to share a key with the value next to it.
  it('tells a Date from its ISO string, at the top level and nested', () => {
    expect(deriveKey([new Date(0), 1])).toBe('[!Date(0),#1]');
    expect(deriveKey([new Date(0).toISOString(), 1])).toBe('["1970-01-01T00:00:00.000Z",#1]');
    expect(deriveKey([{ at: new Date(0) }])).toBe('[{"at":!Date(0)}]');
    expect(deriveKey([{ at: new Date(0).toISOString() }])).toBe('[{"at":"1970-01-01T00:00:00.000Z"}]');
    expect(deriveKey([new Date(Number.NaN)])).toBe('[!Date(NaN)]');
  });

  it('keys RegExps, boxed primitives, typed arrays and buffers by type and content, never as {}', () => {
    expect(deriveKey([/a+/gi])).toBe('[!RegExp("a+","gi")]');
    expect(deriveKey([/a+/g])).toBe('[!RegExp("a+","g")]');
    expect(deriveKey([Object(1)])).toBe('[!Number(1)]');
    expect(deriveKey([Object('1')])).toBe('[!String("1")]');
    expect(deriveKey([Object(false)])).toBe('[!Boolean(false)]');
    expect(deriveKey([Object(1n)])).toBe('[!BigInt(1n)]');
    expect(deriveKey([new Uint8Array([1, 2])])).toBe('[!Uint8Array[1,2]]');
    expect(deriveKey([new Int8Array([1, 2])])).toBe('[!Int8Array[1,2]]');
    expect(deriveKey([{ 0: 1, 1: 2 }])).toBe('[{"0":1,"1":2}]');
    expect(deriveKey([new Float64Array([-0, 0, Number.NaN])])).toBe('[!Float64Array[-0,0,NaN]]');
    expect(deriveKey([new BigInt64Array([1n])])).toBe('[!BigInt64Array[1]]');
    expect(deriveKey([Buffer.from([7])])).toBe('[!Uint8Array[7]]');
    expect(deriveKey([new Uint8Array([1, 2]).buffer])).toBe('[!ArrayBuffer[1,2]]');
    expect(deriveKey([new DataView(new Uint8Array([1, 2, 3]).buffer, 1)])).toBe('[!DataView[2,3]]');
    const keys = [{}, /a/, Object(1), new Uint8Array(0), new ArrayBuffer(0), new Float32Array(0)].map((v) => deriveKey([v]));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('tells -0 from 0, and NaN, Infinity and undefined from null inside arrays', () => {
    expect(deriveKey([-0])).toBe('#-0');
    expect(deriveKey([0])).toBe('#0');
    expect(deriveKey([-0, 1])).toBe('[#-0,#1]');
    expect(deriveKey([[-0, 0]])).toBe('[[-0,0]]');
    expect(deriveKey([[Number.NaN, Infinity, -Infinity, null, undefined]])).toBe('[[NaN,Infinity,-Infinity,null,!u]]');
    // eslint-disable-next-line no-sparse-arrays
    expect(deriveKey([[1, , 3]])).toBe(deriveKey([[1, undefined, 3]]));
  });

  it('keys bigints nested inside objects', () => {
    expect(deriveKey([{ id: 1n }])).toBe('[{"id":1n}]');
    expect(deriveKey([{ id: 1 }])).toBe('[{"id":1}]');
  });

  it('refuses promises, errors and class instances (whose state may be private) instead of keying them {}', () => {
    class Account {
      readonly #balance: number;
      constructor(balance: number) {
        this.#balance = balance;
      }
      get balance(): number {
        return this.#balance;
      }
    }
    expect(() => deriveKey([Promise.resolve(1)], 0, 'load')).toThrow(
      'argument 0 of load (`args[0]`) is a promise, which cannot be part of a cache key: await it and pass its value, ' +
        'or pass a `key` function or template that picks the fields that identify the call',
    );
    expect(() => deriveKey([new TypeError('x')])).toThrow(/is an error \(TypeError\), which cannot be part of a cache key/);
    expect(() => deriveKey([new Account(1)], 0, 'load')).toThrow(
      /^argument 0 of load \(`args\[0\]`\) is an instance of Account, which cannot be part of a cache key: .*give the class a `toJSON\(\)` method/,
    );
  });

  it('keys an instance with toJSON() by its class name and what toJSON() returns', () => {
    class Money {
      constructor(readonly cents: number) {}
      toJSON() {
        return { cents: this.cents };
      }
    }
    expect(deriveKey([new Money(5)])).toBe('[!"Money"({"cents":5})]');
    expect(deriveKey([new Money(5)])).not.toBe(deriveKey([{ cents: 5 }]));
    const selfish = { toJSON(): unknown { return selfish; } };
    expect(() => deriveKey([selfish])).toThrow(/has a circular reference at `args\[0\]`|is a circular reference/);
  });

  it('keeps the keys of plain JSON data as they were (strings, numbers, objects, arrays)', () => {
    expect(deriveKey(['a', 1])).toBe('["a",#1]');
    expect(deriveKey([{ b: 1, a: [2, 'x', null, true] }])).toBe('[{"a":[2,"x",null,true],"b":1}]');
    expect(deriveKey([{ a: undefined, b: 1 }])).toBe(deriveKey([{ b: 1 }]));
    expect(deriveKey([Object.assign(Object.create(null) as object, { a: 1 })])).toBe('[{"a":1}]');
  });
});
