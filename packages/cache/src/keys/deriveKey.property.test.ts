import fc from 'fast-check';
import { deriveKey } from './deriveKey';
import { propertySettings } from './properties';

// Issue 11, item 5: derived keys are faithful. Checked against a reference equality written without the
// encoder: two argument lists share a key exactly when `sameCall` says they are the same call.

/** The contract's notion of "the same call", independent of how keys are encoded. */
function sameCall(a: readonly unknown[], b: readonly unknown[]): boolean {
  const trim = (args: readonly unknown[]) => {
    let end = args.length;
    while (end > 0 && args[end - 1] === undefined) end--;
    return args.slice(0, end);
  };
  const x = trim(a);
  const y = trim(b);
  return x.length === y.length && x.every((v, i) => sameValue(v, y[i]));
}

const kind = (v: object): string => (Array.isArray(v) ? 'Array' : Object.prototype.toString.call(v).slice(8, -1));
const isPlain = (v: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a !== 'object' || a === null || b === null) return Object.is(a, b);
  const o = b as object;
  if (kind(a) !== kind(o) || isPlain(a) !== isPlain(o)) return false;
  if (Array.isArray(a)) {
    const other = o as unknown[];
    return a.length === other.length && Array.from(a, (v, i) => sameValue(v, other[i])).every(Boolean);
  }
  if (a instanceof Date) return Object.is(a.getTime(), (o as Date).getTime());
  if (a instanceof RegExp) return a.source === (o as RegExp).source && a.flags === (o as RegExp).flags;
  if (a instanceof ArrayBuffer) return sameValue(Array.from(new Uint8Array(a)), Array.from(new Uint8Array(o as ArrayBuffer)));
  if (ArrayBuffer.isView(a)) return sameValue(Array.from(a as Uint8Array), Array.from(o as Uint8Array));
  if (!isPlain(a)) return Object.is((a as { valueOf(): unknown }).valueOf(), (o as { valueOf(): unknown }).valueOf()); // boxed
  const fields = (v: object) => Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
  const fa = fields(a);
  const fb = fields(o);
  return (
    fa.length === fb.length &&
    fa.every((k, i) => k === fb[i] && sameValue((a as Record<string, unknown>)[k], (o as Record<string, unknown>)[k]))
  );
}

/** Strings that look like the encoding's own syntax, or like keys and templates. */
const tricky = fc.constantFrom('', ':', 'a:b', '{x}', '}{', '%3A', '%', '#1', '#-0', '!t', '!u', "'x", '[1]', 'null', '1', '-0', 'NaN', '!Date(0)', '1970-01-01T00:00:00.000Z', '"', ',', '\\');
const number = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double(), fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity));
const leaf = fc.oneof(
  fc.string({ maxLength: 6 }),
  tricky,
  number,
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt({ min: -3n, max: 3n }),
  fc.date({ min: new Date(-1), max: new Date(1) }),
  fc.date(),
  fc.tuple(fc.constantFrom('a+', '^x$', '.*', 'a\\/b', ':'), fc.constantFrom('', 'g', 'gi', 'm')).map(([s, f]) => new RegExp(s, f)),
  fc.oneof(number, fc.string({ maxLength: 3 }), fc.boolean(), fc.bigInt({ min: -3n, max: 3n })).map((p) => Object(p) as object),
  fc.oneof(
    fc.uint8Array({ maxLength: 3 }),
    fc.int8Array({ maxLength: 3 }),
    fc.float64Array({ maxLength: 3 }),
    fc.float32Array({ maxLength: 3 }),
    fc.bigInt64Array({ maxLength: 3 }),
  ),
  fc.uint8Array({ maxLength: 3 }).map((bytes) => bytes.slice().buffer),
);
const { value } = fc.letrec<{ value: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 3 }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(fc.oneof(fc.string({ maxLength: 3 }), tricky), tie('value'), { maxKeys: 3 }),
}));
const args = fc.array(value, { maxLength: 3 });

/** A value of another type or content that a careless encoding would key alike. */
function nearMiss(v: unknown): unknown {
  if (typeof v === 'number') return Object.is(v, -0) ? 0 : v === 0 ? -0 : String(v);
  if (typeof v === 'string') return v === '' ? undefined : Number(v);
  if (typeof v === 'bigint') return Number(v);
  if (v === null) return undefined;
  if (v === undefined) return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof RegExp) return {};
  if (ArrayBuffer.isView(v)) return { ...(v as Uint8Array) };
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (Array.isArray(v)) return v.length === 0 ? {} : v.map(nearMiss);
  if (typeof v === 'object') {
    if (!isPlain(v)) return (v as { valueOf(): unknown }).valueOf();
    const out: Record<string, unknown> = {};
    for (const [k, field] of Object.entries(v)) out[k] = nearMiss(field);
    return Object.keys(out).length === 0 ? [] : out;
  }
  return v;
}

/** An equal value built anew: other identities, object keys in reverse order, an extra undefined field. */
function rebuilt(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(rebuilt);
  if (v instanceof Date) return new Date(v.getTime());
  if (v instanceof RegExp) return new RegExp(v.source, v.flags);
  if (v instanceof ArrayBuffer) return v.slice(0);
  if (ArrayBuffer.isView(v)) return (v as Uint8Array).slice();
  if (!isPlain(v)) return Object((v as { valueOf(): unknown }).valueOf()) as object;
  const out: Record<string, unknown> = Object.getPrototypeOf(v) === null ? (Object.create(null) as Record<string, unknown>) : {};
  for (const k of Object.keys(v).reverse()) Object.defineProperty(out, k, { value: rebuilt((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
  out['\u0000absent'] = undefined;
  return out;
}

describe('deriveKey (properties)', () => {
  it('gives two argument lists one key exactly when they are the same call', () => {
    fc.assert(
      fc.property(args, args, (a, b) => {
        expect(deriveKey(a) === deriveKey(b)).toBe(sameCall(a, b));
      }),
      propertySettings,
    );
  });

  it('gives near misses (another type, -0 for 0, an ISO string for a Date, a typed array as an object) another key', () => {
    fc.assert(
      fc.property(args, fc.nat(), (a, at) => {
        const b = a.length === 0 ? [null] : a.map((v, i) => (i === at % a.length ? nearMiss(v) : v));
        expect(deriveKey(a) === deriveKey(b)).toBe(sameCall(a, b));
      }),
      propertySettings,
    );
  });

  it('gives equal argument lists, built anew with keys in another order, the same key', () => {
    fc.assert(
      fc.property(args, (a) => {
        expect(deriveKey(a.map(rebuilt))).toBe(deriveKey(a));
      }),
      propertySettings,
    );
  });

  it('refuses, naming the argument, any list holding a function, a Map or a promise at any depth', () => {
    const poison = fc.constantFrom<unknown>(() => 1, new Map(), Promise.resolve(1));
    const holding = fc.tuple(args, poison, fc.constantFrom('array', 'object', 'top')).map(([list, bad, where]) => {
      const wrapped = where === 'array' ? [bad] : where === 'object' ? { x: bad } : bad;
      return [...list, wrapped];
    });
    fc.assert(
      fc.property(holding, (a) => {
        expect(() => deriveKey(a)).toThrow(new RegExp(`^argument ${a.length - 1} of the function .*which cannot be part of a cache key: `));
      }),
      propertySettings,
    );
  });
});
