import { BoundedLru } from './BoundedLru';

function lru(maxSize: number) {
  const evicted: string[] = [];
  const store = new BoundedLru<number>(maxSize, (key) => evicted.push(key));
  return { store, evicted };
}

describe('BoundedLru', () => {
  it('never holds more than maxSize entries, across many quick-lru generations', () => {
    const { store, evicted } = lru(3);
    for (let i = 0; i < 50; i++) {
      store.set(`k${i}`, i);
      expect(store.size).toBeLessThanOrEqual(3);
    }
    expect(store.size).toBe(3);
    expect([...store.keys()]).toEqual(['k47', 'k48', 'k49']);
    expect(evicted).toHaveLength(47);
    expect(evicted.slice(0, 3)).toEqual(['k0', 'k1', 'k2']);
  });

  it('evicts the least recently used entry, where reads count as use', () => {
    const { store, evicted } = lru(3);
    store.set('a', 1);
    store.set('b', 2);
    store.set('c', 3);
    expect(store.get('a')).toBe(1); // a is now the most recent
    store.set('d', 4);
    expect(evicted).toEqual(['b']);
    expect(store.get('b')).toBeUndefined();
    expect([...store.keys()]).toEqual(['c', 'a', 'd']);
  });

  it('counts a read as use wherever the key sits in quick-lru\'s generations', () => {
    // a and b are in quick-lru's current generation when a is read: a read there must still count.
    const { store, evicted } = lru(3);
    store.set('a', 1);
    store.set('b', 2);
    store.get('a');
    store.set('c', 3);
    store.set('d', 4);
    expect(evicted).toEqual(['b']);
    expect([...store.keys()]).toEqual(['a', 'c', 'd']);
  });

  it('evicts in exact least-recently-used order under random use', () => {
    const max = 7;
    const { store, evicted } = lru(max);
    const model: string[] = []; // least recently used first
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const expectedEvictions: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const key = `k${Math.floor(random() * 20)}`;
      const at = model.indexOf(key);
      if (random() < 0.5) {
        const value = store.get(key);
        expect(value !== undefined).toBe(at !== -1);
        if (at !== -1) model.push(...model.splice(at, 1));
      } else {
        store.set(key, i);
        if (at !== -1) model.splice(at, 1);
        else if (model.length === max) expectedEvictions.push(model.shift() as string);
        model.push(key);
      }
      expect([...store.keys()]).toEqual(model);
    }
    expect(evicted).toEqual(expectedEvictions);
  });

  it('counts an update of an existing key as use, without growing', () => {
    const { store, evicted } = lru(2);
    store.set('a', 1);
    store.set('b', 2);
    store.set('a', 10);
    store.set('c', 3);
    expect(evicted).toEqual(['b']);
    expect(store.size).toBe(2);
    expect(store.get('a')).toBe(10);
  });

  it('peek does not change recency', () => {
    const { store, evicted } = lru(2);
    store.set('a', 1);
    store.set('b', 2);
    expect(store.peek('a')).toBe(1);
    store.set('c', 3);
    expect(evicted).toEqual(['a']);
  });

  it('keeps its exact count through deletes and clear', () => {
    const { store } = lru(2);
    store.set('a', 1);
    store.set('b', 2);
    expect(store.delete('a')).toBe(true);
    expect(store.delete('a')).toBe(false);
    expect(store.size).toBe(1);
    store.set('c', 3);
    store.set('d', 4);
    expect(store.size).toBe(2);
    store.clear();
    expect(store.size).toBe(0);
    expect(store.get('c')).toBeUndefined();
  });

  it('holds exactly one entry with maxSize 1', () => {
    const { store, evicted } = lru(1);
    store.set('a', 1);
    expect(store.get('a')).toBe(1);
    store.set('b', 2);
    expect(evicted).toEqual(['a']);
    expect([...store.keys()]).toEqual(['b']);
  });

  it('is unbounded with Infinity', () => {
    const { store, evicted } = lru(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 5000; i++) store.set(String(i), i);
    expect(store.size).toBe(5000);
    expect(evicted).toHaveLength(0);
  });
});
