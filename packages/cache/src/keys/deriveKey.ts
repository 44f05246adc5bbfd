import stringify from 'fast-json-stable-stringify';

/**
 * Keys derived from arguments are type-safe: `'1'` and `1`, `null` and `undefined` never collide, and
 * `f()` is the same call as `f(undefined)` (trailing `undefined` arguments are dropped).
 *
 * Encoding (injective): no arguments → `''`; one string that does not start with a sigil → itself (no
 * allocation on the hot path); one string that does → `'` + the string; a number → `#1`; a bigint →
 * `#1n`; `true`/`false`/`null`/`undefined` → `!t`/`!f`/`!n`/`!u`; anything else → `[` + a stable JSON of
 * the argument list in which every top-level argument is encoded as above.
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
 * Throws a `TypeError` that says what to do for arguments that cannot be part of a key.
 */
export function deriveKey(args: ArrayLike<unknown>, skip = 0, fnName = 'the function'): string {
  let end = args.length;
  while (end > skip && args[end - 1] === undefined) end--;
  const count = end - skip;
  if (count <= 0) return '';
  if (count === 1) {
    const arg = args[skip];
    if (typeof arg === 'string') return needsQuote(arg) ? `'${arg}` : arg;
    if (typeof arg === 'number') return `#${arg}`;
    const simple = primitive(arg);
    if (simple !== undefined) return simple;
  }
  const parts: string[] = [];
  for (let i = skip; i < end; i++) parts.push(encodeArg(args[i], i, fnName));
  return `[${parts.join(',')}]`;
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

function encodeArg(arg: unknown, index: number, fnName: string): string {
  if (typeof arg === 'string') return JSON.stringify(arg);
  if (typeof arg === 'number') return `#${arg}`;
  const simple = primitive(arg);
  if (simple !== undefined) return simple;
  if (typeof arg === 'function' || typeof arg === 'symbol') {
    throw new TypeError(
      `argument ${index} of ${fnName} is a ${typeof arg} and cannot be part of a cache key: ` +
        'pass a `key` function or template, or `skipArgs` to leave leading arguments out',
    );
  }
  if (arg instanceof Map || arg instanceof Set || arg instanceof WeakMap || arg instanceof WeakSet) {
    throw new TypeError(
      `argument ${index} of ${fnName} is a ${arg.constructor.name}, which JSON cannot represent: ` +
        'pass a `key` function or template, or convert it to an array or a plain object',
    );
  }
  try {
    return stringify(arg); // throws a TypeError on cycles
  } catch (cause) {
    throw new TypeError(
      `argument ${index} of ${fnName} cannot be serialised into a cache key (${(cause as Error).message}): ` +
        'pass a `key` function or template that picks the fields that identify the call',
      { cause },
    );
  }
}
