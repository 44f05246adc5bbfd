import { Cache } from '../Cache';
import { MemoryStore } from '../stores/MemoryStore';
import { deepFreeze } from './isolation';

interface Cart {
  items: Array<{ sku: string; qty: number }>;
  owner: { id: number };
}
const cart = (): Cart => ({ items: [{ sku: 'a', qty: 1 }], owner: { id: 7 } });

describe('isolation', () => {
  it("'none' (the default): a hit returns the stored object itself, so callers share mutations", async () => {
    const scope = new Cache().scope<Cart>('carts');
    expect(scope.isolation).toBe('none');
    const first = await scope.getOrSet('c', async () => cart());
    first.items.push({ sku: 'b', qty: 2 });
    const second = await scope.getOrSet('c', async () => cart());
    expect(second).toBe(first);
    expect(second.items).toHaveLength(2);
  });

  it("'none': two Cache instances on one MemoryStore read the same object (a Redis store would hand each a copy)", async () => {
    const store = new MemoryStore();
    const a = new Cache({ store }).scope<Cart>('carts');
    const b = new Cache({ store }).scope<Cart>('carts');
    const written = cart();
    await a.set('c', written);
    expect(await b.get('c')).toBe(written);
  });

  it("'freeze': the value is deep-frozen when stored; a mutation throws instead of reaching other callers", async () => {
    const scope = new Cache().scope<Cart>('carts', { isolation: 'freeze' });
    const loaded = await scope.getOrSet('c', async () => cart());
    expect(Object.isFrozen(loaded)).toBe(true);
    expect(Object.isFrozen(loaded.items)).toBe(true);
    expect(Object.isFrozen(loaded.items[0])).toBe(true);
    expect(Object.isFrozen(loaded.owner)).toBe(true);
    expect(() => loaded.items.push({ sku: 'b', qty: 2 })).toThrow(TypeError);
    expect(() => {
      loaded.owner.id = 8;
    }).toThrow(TypeError);
    const hit = await scope.getOrSet('c', async () => cart());
    expect(hit).toBe(loaded);
    expect(hit).toEqual(cart());
  });

  it("'clone': every read hands out its own copy; the stored value never changes", async () => {
    const scope = new Cache().scope<Cart>('carts', { isolation: 'clone' });
    const original = cart();
    const loaded = await scope.getOrSet('c', async () => original);
    loaded.items.push({ sku: 'b', qty: 2 });
    original.owner.id = 99;
    const hit = await scope.getOrSet('c', async () => cart());
    expect(hit).toEqual(cart());
    expect(hit).not.toBe(await scope.get('c'));
    hit.items.length = 0;
    expect(await scope.get('c')).toEqual(cart());
    expect(scope.getSync('c')).toEqual(cart());
    expect(await scope.getMany(['c', 'missing'])).toEqual([cart(), undefined]);
  });

  it("'clone': callers that joined one load each get their own copy", async () => {
    const scope = new Cache().scope<Cart>('carts', { isolation: 'clone' });
    let release!: (value: Cart) => void;
    const loader = jest.fn(() => new Promise<Cart>((resolve) => (release = resolve)));
    const calls = [scope.getOrSet('c', loader), scope.getOrSet('c', loader)];
    release(cart());
    const [one, two] = await Promise.all(calls);
    expect(loader).toHaveBeenCalledTimes(1);
    expect(one).toEqual(cart());
    expect(two).toEqual(cart());
    expect(one).not.toBe(two);
  });

  it("'clone': a value structuredClone refuses fails its write loudly", async () => {
    const scope = new Cache().scope<unknown>('s', { isolation: 'clone' });
    await expect(scope.set('k', { run: () => 1 })).rejects.toMatchObject({ name: 'DataCloneError' });
    expect(scope.size).toBe(0);
    await expect(scope.getOrSet('k', async () => ({ run: () => 1 }))).rejects.toMatchObject({ name: 'DataCloneError' });
  });

  it('inherits from the cache, applies to cached() functions, and is refused on a shared scope', async () => {
    const cache = new Cache({ isolation: 'freeze' });
    expect(cache.scope('a').isolation).toBe('freeze');
    expect(cache.scope('b', { isolation: 'none' }).isolation).toBe('none');
    const getCart = cache.cached(async (id: number) => ({ ...cart(), owner: { id } }), { isolation: 'clone' });
    expect(getCart.scope.isolation).toBe('clone');
    const a = await getCart(1);
    a.owner.id = 5;
    expect((await getCart(1)).owner.id).toBe(1);
    expect(() => cache.cached(async (n: number) => n, { scope: cache.scope('a'), name: 'n', isolation: 'clone' })).toThrow(
      /`isolation` belongs to the shared scope `a`/,
    );
  });

  it('refuses an unknown isolation, naming the scope', () => {
    expect(() => new Cache({ isolation: 'deep' as never })).toThrow(new TypeError("`isolation` must be 'none', 'freeze' or 'clone', got \"deep\""));
    expect(() => new Cache().scope('carts', { isolation: true as never })).toThrow(
      /^scope `carts`: `isolation` must be 'none', 'freeze' or 'clone', got true$/,
    );
  });
});

describe('deepFreeze', () => {
  it('freezes nested objects, arrays and cycles, and leaves typed arrays as they are', () => {
    const node: { name: string; self?: unknown; list: number[]; bytes: Uint8Array; inner: { deep: { x: number } } } = {
      name: 'n',
      list: [1, 2],
      bytes: new Uint8Array([1]),
      inner: { deep: { x: 1 } },
    };
    node.self = node;
    const shallow = Object.freeze({ child: { y: 1 } });
    expect(deepFreeze(node)).toBe(node);
    expect([node, node.list, node.inner, node.inner.deep].every((o) => Object.isFrozen(o))).toBe(true);
    expect(Object.isFrozen(node.bytes)).toBe(false);
    deepFreeze(shallow);
    expect(Object.isFrozen(shallow.child)).toBe(true);
    expect(deepFreeze(3)).toBe(3);
  });
});
