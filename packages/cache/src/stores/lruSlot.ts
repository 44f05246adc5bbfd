/**
 * What L1 holds an entry under: its local key, except that the key a cached function derives from one
 * integer argument (`#42`, see deriveKey) is held under the integer itself. A small integer is no object
 * (a V8 Smi), where the string is 24 bytes per entry; and a hit of `getUser(42)` then needs no key string
 * at all. The mapping is one to one: `'#' + String(n)` for the integers below, the key itself for every
 * other key (`'#042'`, `'#-0'`, `'#1e3'` and `'#2000000000'` stay strings).
 * @internal
 */
export type LruSlot = string | number;

/** 2^30: integers of smaller magnitude are Smis on every V8 build. */
const LIMIT = 2 ** 30;
const HASH = 0x23; // #
const MINUS = 0x2d; // -
const ZERO = 0x30; // 0

/** Whether `n` is held as itself: an integer of magnitude below 2^30, and not `-0` (whose key is `#-0`). */
export function isSlotInteger(n: number): boolean {
  return (n | 0) === n && n < LIMIT && n > -LIMIT && (n !== 0 || 1 / n > 0);
}

/** The slot of a local key: the integer `n` for `'#' + String(n)` when {@link isSlotInteger}, else the key. */
export function slotOf(key: string): LruSlot {
  if (key.charCodeAt(0) !== HASH) return key;
  const length = key.length;
  let i = key.charCodeAt(1) === MINUS ? 2 : 1;
  const negative = i === 2;
  // '#', an optional '-', then 1 to 10 digits without a leading zero (but '#0').
  if (length <= i || length > i + 10) return key;
  if (key.charCodeAt(i) === ZERO) return length === 2 ? 0 : key;
  let n = 0;
  for (; i < length; i++) {
    const digit = key.charCodeAt(i) - ZERO;
    if (digit < 0 || digit > 9) return key;
    n = n * 10 + digit;
  }
  if (n >= LIMIT) return key;
  return negative ? -n : n;
}

/** The local key of a slot. */
export function keyOfSlot(slot: LruSlot): string {
  return typeof slot === 'number' ? `#${slot}` : slot;
}
