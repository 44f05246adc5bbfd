import { deriveKey } from '../keys/deriveKey';
import { isSlotInteger, keyOfSlot, slotOf } from './lruSlot';

describe('LruSlot', () => {
  it('holds the key derived from one integer under the integer, and gives the same key back', () => {
    for (const n of [0, 1, 7, 42, -1, -42, 99_999, 2 ** 30 - 1, -(2 ** 30 - 1)]) {
      const key = deriveKey([n]);
      expect([n, slotOf(key)]).toEqual([n, n]);
      expect(keyOfSlot(n)).toBe(key);
      expect(isSlotInteger(n)).toBe(true);
    }
  });

  it('leaves -0, fractions and integers of magnitude 2^30 or more to their key strings', () => {
    for (const n of [-0, 0.5, -1.5, 2 ** 30, -(2 ** 30), 2 ** 31, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect([n, isSlotInteger(n)]).toEqual([n, false]);
      const key = deriveKey([n]);
      expect(slotOf(key)).toBe(key);
    }
  });

  it('keeps every string that is not exactly # and an integer in canonical form a string', () => {
    for (const key of ['', '#', '#-', '#00', '#01', '#-0', '#-01', '#1e3', '#1.0', '#12a', '# 1', '#+1', '#12345678901', 'user:1', "'#1", '42']) {
      expect([key, slotOf(key)]).toEqual([key, key]);
    }
  });
});
