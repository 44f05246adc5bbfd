import stringify from 'fast-json-stable-stringify';

/**
 * Keys derived from arguments are faithful: two argument lists share a key only when they are the same
 * call. `'1'` and `1`, `null` and `undefined`, `0` and `-0`, a `Date` and its ISO string, a typed array
 * and the plain object of its indexes never collide; what cannot be told apart (a function, a `Promise`,
 * a `Map`, a class instance whose state is private) is refused with a `TypeError` rather than keyed as `{}`.
 * `f()` is the same call as `f(undefined)` (trailing `undefined` arguments are dropped), and objects are
 * keyed regardless of the order of their keys.
 *
 * Encoding: no arguments → `''`; one string that does not start with a sigil → itself (no allocation on
 * the hot path); one string that does → `'` + the string; a number → `#1` (`#-0`, `#NaN`); a bigint →
 * `#1n`; `true`/`false`/`null`/`undefined` → `!t`/`!f`/`!n`/`!u`; anything else → `[` + the arguments
 * encoded as above (strings as JSON strings) and joined by `,` + `]`, objects and arrays as a stable JSON
 * extended with tagged forms that JSON never starts a value with (see {@link encodeValue}).
 */
const QUOTE = 0x27; // '
const HASH = 0x23; // #
const BANG = 0x21; // !
const BRACKET = 0x5b; // [

function needsQuote(s: string): boolean {
  if (s.length === 0) return true;
  const c = s.charCodeAt(0);
  return c === QUOTE || c === HASH || c === BANG || c === BRACKET;
}

/**
 * The cache key for a call's arguments, ignoring the first `skip` of them.
 * Throws a `TypeError` that names the argument (and the path inside it) and says what to do, for
 * arguments that cannot be part of a key.
 */
export function deriveKey(args: ArrayLike<unknown>, skip = 0, fnName = 'the function'): string {
  let end = args.length;
  while (end > skip && args[end - 1] === undefined) end--;
  const count = end - skip;
  if (count <= 0) return '';
  if (count === 1) {
    const arg = args[skip];
    if (typeof arg === 'string') return needsQuote(arg) ? `'${arg}` : arg;
    if (typeof arg === 'number') return `#${numberText(arg)}`;
    const simple = primitive(arg);
    if (simple !== undefined) return simple;
  }
  let out = '[';
  for (let i = skip; i < end; i++) {
    if (i > skip) out += ',';
    out += encodeArg(args[i], i, fnName);
  }
  return `${out}]`;
}

/** `String(n)`, except that `-0` is `-0` (JSON and `String` both write it `0`). */
function numberText(n: number): string {
  return n === 0 && 1 / n < 0 ? '-0' : String(n);
}

function primitive(arg: unknown): string | undefined {
  switch (typeof arg) {
    case 'boolean':
      return arg ? '!t' : '!f';
    case 'undefined':
      return '!u';
    case 'bigint':
      return `#${arg}n`;
    case 'object':
      return arg === null ? '!n' : undefined;
    default:
      return undefined;
  }
}

/** Why a value cannot be part of a key, thrown up through the containers that add their path segment. */
class Refusal extends Error {
  readonly path: Array<string | number> = [];
  constructor(
    readonly what: string,
    readonly advice: string,
  ) {
    super(what);
  }
}

const USE_KEY = 'pass a `key` function or template that picks the fields that identify the call';

function encodeArg(arg: unknown, index: number, fnName: string): string {
  if (typeof arg === 'string') return JSON.stringify(arg);
  if (typeof arg === 'number') return `#${numberText(arg)}`;
  const simple = primitive(arg);
  if (simple !== undefined) return simple;
  try {
    // Plain JSON data (the common case) is serialized by fast-json-stable-stringify, which writes exactly
    // what encodeValue would: only values JSON cannot represent faithfully take the tagged forms below.
    return isPlainJson(arg, 0) ? stringify(arg) : encodeValue(arg, []);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    const where =
      error.path.length === 0
        ? `(\`args[${index}]\`) is ${error.what}`
        : `has ${error.what} at \`${pathText(index, error.path)}\``;
    throw new TypeError(`argument ${index} of ${fnName} ${where}, which cannot be part of a cache key: ${error.advice}`, {
      cause: error,
    });
  }
}

function pathText(index: number, path: ReadonlyArray<string | number>): string {
  let out = `args[${index}]`;
  for (const segment of path) {
    out += typeof segment === 'number' ? `[${segment}]` : /^[A-Za-z_$][\w$]*$/.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Deeper than this, a value is left to encodeValue, which also catches cycles. */
const PLAIN_DEPTH = 32;

/**
 * Whether JSON represents `value` faithfully: strings, finite numbers other than `-0`, booleans, `null`,
 * arrays without holes or `undefined`, and objects with a plain prototype and no `toJSON()` (whose
 * `undefined` fields JSON leaves out, as encodeValue does), all the way down. For those,
 * fast-json-stable-stringify and encodeValue write the same text.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !(value === 0 && 1 / value < 0);
    case 'object': {
      if (value === null) return true;
      if (depth >= PLAIN_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || value[i] === undefined || !isPlainJson(value[i], depth + 1)) return false;
        }
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
      for (const key in value) {
        const field = (value as Record<string, unknown>)[key];
        if (field !== undefined && !isPlainJson(field, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * A nested value: JSON for what JSON represents faithfully (strings, finite numbers, booleans, `null`,
 * arrays, plain objects with their keys sorted and `undefined` fields left out, as `JSON.stringify`
 * does), and otherwise a form that JSON never starts a value with, so none can pass for another:
 * `-0`, `NaN`, `Infinity`, `-Infinity`; `1n` (bigint); `!u` (`undefined` or a hole in an array);
 * `!Date(0)` (its time value; `!Date(NaN)` when invalid); `!RegExp("a+","gi")`; `!Number(1)`,
 * `!String("a")`, `!Boolean(true)`, `!BigInt(1n)` (boxed primitives); `!Uint8Array[1,2]` and the other
 * typed arrays (a `Buffer` is a `Uint8Array`), `!ArrayBuffer[…]`, `!SharedArrayBuffer[…]`,
 * `!DataView[…]` (bytes); `!"Name"(…)` for an instance of class `Name` with a `toJSON()` method (what
 * `toJSON()` returns, encoded). Refused: functions, symbols, `Map`, `Set`, `WeakMap`, `WeakSet`,
 * promises, errors, other class instances without `toJSON()`, and cycles.
 */
function encodeValue(value: unknown, stack: object[]): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return numberText(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `${value}n`;
    case 'undefined':
      return '!u';
    case 'object':
      return value === null ? 'null' : encodeObject(value, stack);
    default:
      throw new Refusal(`a ${typeof value}`, `${USE_KEY}, or \`skipArgs\` to leave leading arguments out`);
  }
}

function encodeObject(value: object, stack: object[]): string {
  if (stack.includes(value)) throw new Refusal('a circular reference', USE_KEY);
  stack.push(value);
  let out: string;
  if (Array.isArray(value)) out = encodeArray(value, stack);
  else {
    const proto: unknown = Object.getPrototypeOf(value);
    if ((proto === Object.prototype || proto === null) && typeof (value as { toJSON?: unknown }).toJSON !== 'function') {
      out = encodePlain(value as Record<string, unknown>, stack);
    } else out = encodeSpecial(value, proto, stack);
  }
  stack.pop();
  return out;
}

function encodeArray(value: readonly unknown[], stack: object[]): string {
  let out = '[';
  let i = 0;
  try {
    for (; i < value.length; i++) {
      if (i > 0) out += ',';
      out += encodeValue(value[i], stack);
    }
  } catch (error) {
    if (error instanceof Refusal) error.path.unshift(i);
    throw error;
  }
  return `${out}]`;
}

function encodePlain(value: Record<string, unknown>, stack: object[]): string {
  const keys = Object.keys(value).sort();
  let out = '{';
  let key = '';
  try {
    for (let i = 0; i < keys.length; i++) {
      key = keys[i] as string;
      const field = value[key];
      if (field === undefined) continue;
      if (out.length > 1) out += ',';
      out += `${JSON.stringify(key)}:${encodeValue(field, stack)}`;
    }
  } catch (error) {
    if (error instanceof Refusal) error.path.unshift(key);
    throw error;
  }
  return `${out}}`;
}

const TYPED_ARRAYS = new Map<unknown, string>(
  [
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    BigInt64Array,
    BigUint64Array,
  ].map((type) => [type.prototype, type.name]),
);
const FLOAT_ARRAYS = new Map<unknown, string>([Float32Array, Float64Array].map((type) => [type.prototype, type.name]));
if (typeof Buffer === 'function') TYPED_ARRAYS.set(Buffer.prototype, 'Uint8Array');

/** A boxed primitive (`new Number(1)`, `Object(1n)`), read through its `valueOf()`. */
type Boxed<T> = { valueOf(): T };

const CONVERT_COLLECTION = 'convert it to an array (of entries) or a plain object, or pass a `key` function or template';

function encodeSpecial(value: object, proto: unknown, stack: object[]): string {
  if (value instanceof Date && proto === Date.prototype) return `!Date(${value.getTime()})`;
  if (value instanceof RegExp && proto === RegExp.prototype) return `!RegExp(${JSON.stringify(value.source)},${JSON.stringify(value.flags)})`;
  const integers = TYPED_ARRAYS.get(proto);
  if (integers !== undefined) return `!${integers}[${(value as Uint8Array).join(',')}]`;
  const floats = FLOAT_ARRAYS.get(proto);
  if (floats !== undefined) {
    let out = `!${floats}[`;
    const items = value as Float64Array;
    for (let i = 0; i < items.length; i++) out += (i > 0 ? ',' : '') + numberText(items[i] as number);
    return `${out}]`;
  }
  if (proto === ArrayBuffer.prototype) return `!ArrayBuffer[${new Uint8Array(value as ArrayBuffer).join(',')}]`;
  if (typeof SharedArrayBuffer === 'function' && proto === SharedArrayBuffer.prototype) {
    return `!SharedArrayBuffer[${new Uint8Array(value as SharedArrayBuffer).join(',')}]`;
  }
  if (proto === DataView.prototype) {
    const view = value as DataView;
    return `!DataView[${new Uint8Array(view.buffer, view.byteOffset, view.byteLength).join(',')}]`;
  }
  if (proto === Number.prototype) return `!Number(${numberText((value as Boxed<number>).valueOf())})`;
  if (proto === String.prototype) return `!String(${JSON.stringify((value as Boxed<string>).valueOf())})`;
  if (proto === Boolean.prototype) return `!Boolean(${(value as Boxed<boolean>).valueOf() ? 'true' : 'false'})`;
  if (proto === BigInt.prototype) return `!BigInt(${(value as Boxed<bigint>).valueOf()}n)`;
  if (value instanceof Map || value instanceof WeakMap) throw new Refusal(`a ${nameOf(value)}`, CONVERT_COLLECTION);
  if (value instanceof Set || value instanceof WeakSet) throw new Refusal(`a ${nameOf(value)}`, CONVERT_COLLECTION);
  if (value instanceof Promise || typeof (value as { then?: unknown }).then === 'function') {
    throw new Refusal('a promise', `await it and pass its value, or ${USE_KEY}`);
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    // What the class says identifies it (Decimal, ObjectId, DateTime…), under its name.
    return `!${JSON.stringify(nameOf(value))}(${encodeValue(toJSON.call(value), stack)})`;
  }
  if (value instanceof Error) throw new Refusal(`an error (${nameOf(value)})`, USE_KEY);
  throw new Refusal(
    `an instance of ${nameOf(value)}`,
    `a key sees only plain data, not a class instance's (maybe private) state: pass a plain object of the fields that identify it, give the class a \`toJSON()\` method, or ${USE_KEY}`,
  );
}

function nameOf(value: object): string {
  const name: unknown = (value.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name : 'an anonymous class';
}
