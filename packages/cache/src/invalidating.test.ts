import { Cache } from './Cache';
import type { CacheEventMap } from './events/CacheEvents';
import { recache } from './invalidating';

interface User {
  id: number;
  name: string;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

/** Lets every pending promise callback (and the awaits behind it) run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A tiny "database" of users, a cached profile reader tagged `user:{userId}`, and a session scope whose
 * entries carry the same tags: two scopes holding entries of the same users.
 */
function users() {
  const cache = new Cache();
  const db = new Map<number, User>([
    [1, { id: 1, name: 'Ada' }],
    [2, { id: 2, name: 'Bob' }],
  ]);
  const loadProfile = jest.fn(async ({ userId }: { userId: number }) => ({ ...db.get(userId) }) as User);
  const getProfile = cache.cached(loadProfile, { key: 'profile:{userId}', tags: ['user:{userId}'], name: 'getProfile' });
  const sessions = cache.scope<string>('sessions');
  const save = async (input: { userId: number; name: string }) => {
    db.set(input.userId, { id: input.userId, name: input.name });
    return { id: input.userId, name: input.name };
  };
  return { cache, db, loadProfile, getProfile, sessions, save };
}

describe('invalidating: tags', () => {
  it('drops the entries carrying the filled tag in every scope after a successful call, and keeps the others', async () => {
    const { cache, loadProfile, getProfile, sessions, save } = users();
    await getProfile({ userId: 1 });
    await getProfile({ userId: 2 });
    await sessions.set('session:a', 'user 1 session', { tags: ['user:1'] });
    await sessions.set('session:b', 'user 2 session', { tags: ['user:2'] });

    const updateUser = cache.invalidating(save, { tags: ['user:{userId}'] });
    await expect(updateUser({ userId: 1, name: 'Ada L.' })).resolves.toEqual({ id: 1, name: 'Ada L.' });

    expect(getProfile.scope.keys()).toEqual(['profile:2']);
    expect(sessions.keys()).toEqual(['session:b']);
    await expect(getProfile({ userId: 1 })).resolves.toEqual({ id: 1, name: 'Ada L.' });
    await expect(getProfile({ userId: 2 })).resolves.toEqual({ id: 2, name: 'Bob' });
    expect(loadProfile).toHaveBeenCalledTimes(3); // users 1 and 2, then user 1 again
  });

  it('fills positional {0} placeholders from the arguments', async () => {
    const cache = new Cache();
    const orders = cache.scope<string>('orders');
    await orders.set('order:7', 'seven', { tags: ['order:7'] });
    await orders.set('order:8', 'eight', { tags: ['order:8'] });

    const cancel = cache.invalidating(async (id: number, reason: string) => `${id} cancelled: ${reason}`, {
      tags: ['order:{0}'],
    });
    await expect(cancel(7, 'late')).resolves.toBe('7 cancelled: late');
    expect(orders.keys()).toEqual(['order:8']);
  });

  it('invalidates several templates at once, from fields of the object argument', async () => {
    const cache = new Cache();
    const scope = cache.scope<string>('members');
    await scope.set('u1', 'user 1', { tags: ['user:1'] });
    await scope.set('org9', 'org 9 members', { tags: ['org:9:members'] });
    await scope.set('org8', 'org 8 members', { tags: ['org:8:members'] });

    const leave = cache.invalidating(async (_input: { userId: number; orgId: number }) => true, {
      tags: ['user:{userId}', 'org:{orgId}:members'],
    });
    await leave({ userId: 1, orgId: 9 });
    expect(scope.keys()).toEqual(['org8']);
  });

  it('takes tags from a function of the arguments and the result', async () => {
    const cache = new Cache();
    const scope = cache.scope<string>('lists');
    await scope.set('team:3', 'team 3', { tags: ['team:3'] });
    await scope.set('team:4', 'team 4', { tags: ['team:4'] });

    const tagsOf = jest.fn((_args: [string], created: { teamId: number }) => [`team:${created.teamId}`]);
    const addMember = cache.invalidating(async (name: string) => ({ name, teamId: 4 }), { tags: tagsOf });
    await addMember('Cy');
    expect(tagsOf).toHaveBeenCalledWith(['Cy'], { name: 'Cy', teamId: 4 });
    expect(scope.keys()).toEqual(['team:3']);
  });

  it('drops a reader keyed `user:{userId}` without tags, since it is tagged with its own key', async () => {
    const cache = new Cache();
    const load = jest.fn(async ({ userId }: { userId: number }) => `user ${userId}`);
    const getUser = cache.cached(load, { key: 'user:{userId}' });
    await getUser({ userId: 1 });
    await getUser({ userId: 2 });

    const updateUser = cache.invalidating(async (_input: { userId: number }) => 'saved', { tags: ['user:{userId}'] });
    await updateUser({ userId: 1 });

    expect(getUser.scope.keys()).toEqual(['user:2']);
    await getUser({ userId: 1 });
    await getUser({ userId: 2 });
    expect(load).toHaveBeenCalledTimes(3);
  });

  it('passes `this` and the arguments through, and resolves to the wrapped function result', async () => {
    const cache = new Cache();
    const repo = {
      table: 'users',
      update: cache.invalidating(
        async function (this: { table: string }, id: number) {
          return `${this.table}/${id}`;
        },
        { tags: ['user:{0}'] },
      ),
    };
    await expect(repo.update(5)).resolves.toBe('users/5');
  });
});

describe('invalidating: keys', () => {
  it('deletes the full keys named by templates, from the scope whose namespace starts them', async () => {
    const { cache, getProfile, sessions, save } = users();
    await getProfile({ userId: 1 });
    await getProfile({ userId: 2 });
    await sessions.set('profile:1', 'the same local key in another scope');
    await sessions.set('other', 'kept');

    const updateUser = cache.invalidating(save, { keys: ['getProfile:profile:{userId}', 'sessions:other'] });
    await updateUser({ userId: 1, name: 'Ada L.' });

    expect(getProfile.scope.keys()).toEqual(['profile:2']);
    expect(sessions.keys()).toEqual(['profile:1']);
  });

  it('deletes the full keys a function of (args, result) returns, as keyFor() shows them', async () => {
    const cache = new Cache();
    const loadProduct = jest.fn(async (id: number) => ({ id, price: 10 }));
    const getProduct = cache.cached(loadProduct); // derived keys, prefixed with the scope name
    await getProduct(1);
    await getProduct(2);
    expect(getProduct.keyFor(1)).not.toBe('1');

    const renameProduct = cache.invalidating(async (sku: string) => ({ sku, id: 2 }), {
      keys: (_args, product) => [getProduct.keyFor(product.id)],
    });
    await renameProduct('SKU-2');

    await getProduct(1);
    await getProduct(2);
    expect(loadProduct.mock.calls).toEqual([[1], [2], [2]]);
  });

  it('deletes keys and tags in one call', async () => {
    const cache = new Cache();
    const scope = cache.scope<string>('s');
    await scope.set('by-key', 'k');
    await scope.set('by-tag', 't', { tags: ['t:1'] });
    await scope.set('kept', 'x', { tags: ['t:2'] });
    const write = cache.invalidating(async (_n: number) => null, { keys: ['s:by-key'], tags: ['t:{0}'] });
    await write(1);
    expect(scope.keys()).toEqual(['kept']);
  });
});

describe('invalidating: failures of the wrapped function', () => {
  it('invalidates nothing and rethrows when the function rejects', async () => {
    const { cache, getProfile, sessions } = users();
    await getProfile({ userId: 1 });
    await sessions.set('s', 'session', { tags: ['user:1'] });
    const refreshed = jest.fn(async (_input: { userId: number }) => 'x');
    const reader = cache.cached(refreshed, { key: 'r:{userId}' });

    const failure = new Error('constraint violated');
    const updateUser = cache.invalidating(
      async (_input: { userId: number; name: string }): Promise<User> => {
        throw failure;
      },
      { tags: ['user:{userId}'], keys: ['getProfile:profile:{userId}'], recache: [recache(reader)] },
    );
    await expect(updateUser({ userId: 1, name: 'x' })).rejects.toBe(failure);

    expect(getProfile.scope.keys()).toEqual(['profile:1']);
    expect(sessions.keys()).toEqual(['s']);
    expect(refreshed).not.toHaveBeenCalled();
  });

  it('invalidates nothing and rethrows when the function throws synchronously', async () => {
    const cache = new Cache();
    const scope = cache.scope<string>('s');
    await scope.set('a', 'a', { tags: ['user:1'] });
    const failure = new TypeError('bad input');
    const write = cache.invalidating(
      (_id: number): string => {
        throw failure;
      },
      { tags: ['user:{0}'] },
    );
    await expect(write(1)).rejects.toBe(failure);
    expect(scope.keys()).toEqual(['a']);
  });
});

describe('invalidating: recache', () => {
  it('calls the reader again after the invalidation, so the next read is a hit with the new value', async () => {
    const { cache, loadProfile, getProfile, save } = users();
    await expect(getProfile({ userId: 1 })).resolves.toEqual({ id: 1, name: 'Ada' });
    expect(loadProfile).toHaveBeenCalledTimes(1);

    const updateUser = cache.invalidating(save, {
      tags: ['user:{userId}'],
      recache: [recache(getProfile, { include: ['userId'] })],
    });
    await updateUser({ userId: 1, name: 'Ada L.' });
    expect(loadProfile).toHaveBeenCalledTimes(2);
    expect(loadProfile).toHaveBeenLastCalledWith({ userId: 1 });

    const hitsBefore = getProfile.scope.stats().hits;
    await expect(getProfile({ userId: 1 })).resolves.toEqual({ id: 1, name: 'Ada L.' });
    expect(loadProfile).toHaveBeenCalledTimes(2);
    expect(getProfile.scope.stats().hits).toBe(hitsBefore + 1);
  });

  it('has refreshed the reader by the time the write resolves', async () => {
    const { cache, getProfile, save } = users();
    const updateUser = cache.invalidating(save, { recache: [recache(getProfile, { include: ['userId'] })] });
    await updateUser({ userId: 2, name: 'Bobby' });
    await expect(getProfile.scope.get('profile:2')).resolves.toEqual({ id: 2, name: 'Bobby' });
  });

  it('builds the reader argument with include, rename and extra', async () => {
    const cache = new Cache();
    const load = jest.fn(async (query: { id: number; expand: boolean }) => `account ${query.id}`);
    const getAccount = cache.cached(load, { key: 'account:{id}:{expand}' });
    const write = cache.invalidating(async (_input: { userId: number; name: string; orgId: number }) => 'ok', {
      recache: [recache(getAccount, { include: ['userId'], rename: { userId: 'id' }, extra: { expand: true } })],
    });
    await write({ userId: 3, name: 'Cy', orgId: 9 });
    expect(load).toHaveBeenCalledTimes(1);
    expect(load.mock.calls[0]?.[0]).toStrictEqual({ id: 3, expand: true });
    await expect(getAccount.scope.has('account:3:true')).resolves.toBe(true);
  });

  it('copies every field of the writer argument when include is omitted', async () => {
    const cache = new Cache();
    const load = jest.fn(async (input: { userId: number; lang: string }) => `${input.userId}/${input.lang}`);
    const reader = cache.cached(load, { key: 'greeting:{userId}:{lang}' });
    const write = cache.invalidating(async (_input: { userId: number; lang: string }) => 'ok', {
      recache: [recache(reader)],
    });
    await write({ userId: 4, lang: 'fr' });
    expect(load.mock.calls[0]?.[0]).toStrictEqual({ userId: 4, lang: 'fr' });
  });

  it('takes the reader arguments from a function of the writer arguments and result', async () => {
    const cache = new Cache();
    let stock = 5;
    const loadStock = jest.fn(async (sku: string, warehouse: number) => `${sku}@${warehouse}: ${stock}`);
    const getStock = cache.cached(loadStock);
    await getStock('A', 1);

    const mapping = jest.fn((args: [string, number], result: { warehouse: number }): [string, number] => [
      args[0],
      result.warehouse,
    ]);
    const restock = cache.invalidating(
      async (_sku: string, amount: number) => {
        stock += amount;
        return { warehouse: 1 };
      },
      { keys: (args) => [getStock.keyFor(args[0], 1)], recache: [recache(getStock, mapping)] },
    );
    await restock('A', 3);
    expect(mapping).toHaveBeenCalledWith(['A', 3], { warehouse: 1 });
    expect(loadStock).toHaveBeenCalledTimes(2);
    await expect(getStock('A', 1)).resolves.toBe('A@1: 8');
    expect(loadStock).toHaveBeenCalledTimes(2);
  });

  it('returns the write result when a reader fails, reports CACHE_LOAD_ERROR, and still refreshes the other readers', async () => {
    const cache = new Cache();
    const loadErrors: Array<CacheEventMap['CACHE_LOAD_ERROR']> = [];
    cache.on('CACHE_LOAD_ERROR', (event) => loadErrors.push(event));
    const outage = new Error('replica down');
    const broken = cache.cached(
      async (_input: { userId: number }): Promise<string> => {
        throw outage;
      },
      { key: 'broken:{userId}' },
    );
    const loadGood = jest.fn(async ({ userId }: { userId: number }) => `good ${userId}`);
    const good = cache.cached(loadGood, { key: 'good:{userId}' });

    const write = cache.invalidating(async (input: { userId: number }) => ({ saved: input.userId }), {
      tags: ['user:{userId}'],
      recache: [recache(broken), recache(good)],
      recacheConcurrency: 1,
    });
    await expect(write({ userId: 1 })).resolves.toEqual({ saved: 1 });

    expect(loadErrors).toHaveLength(1);
    expect(loadErrors[0]).toMatchObject({ type: 'CACHE_LOAD_ERROR', key: 'cached:broken:1', error: outage });
    expect(loadGood).toHaveBeenCalledTimes(1);
    await expect(good.scope.has('good:1')).resolves.toBe(true);
    await expect(broken.scope.has('broken:1')).resolves.toBe(false);
  });

  it.each([
    [2, 2],
    [undefined, 4], // the default
  ])('runs at most recacheConcurrency=%p readers at once (bound: %p)', async (recacheConcurrency, expected) => {
    const cache = new Cache();
    let active = 0;
    let maxActive = 0;
    const gates: Deferred[] = [];
    const load = jest.fn(async (id: number) => {
      active++;
      maxActive = Math.max(maxActive, active);
      const gate = deferred();
      gates.push(gate);
      await gate.promise;
      active--;
      return `item ${id}`;
    });
    const getItem = cache.cached(load);
    const ids = [1, 2, 3, 4, 5, 6, 7];
    const write = cache.invalidating(async (_ids: number[]) => 'saved', {
      recache: ids.map((id) => recache(getItem, (): [number] => [id])),
      recacheConcurrency,
    });

    let done = false;
    const result = write(ids).then((value) => {
      done = true;
      return value;
    });
    await flush();
    expect(active).toBe(expected); // readers do run side by side, up to the bound
    while (!done) {
      expect(active).toBeLessThanOrEqual(expected);
      for (const gate of gates.splice(0)) gate.resolve();
      await flush();
    }
    await expect(result).resolves.toBe('saved');
    expect(maxActive).toBe(expected);
    expect(load.mock.calls.map(([id]) => id).sort()).toEqual(ids);
  });
});

describe('invalidating: bad input', () => {
  it('rejects something that is not a function', () => {
    const cache = new Cache();
    expect(() => cache.invalidating('save' as unknown as () => void, {})).toThrow(TypeError);
    expect(() => cache.invalidating(null as unknown as () => void, {})).toThrow(/`invalidating` wraps a function/);
  });

  it('rejects a recacheConcurrency that is not a positive integer, naming the option', () => {
    const cache = new Cache();
    for (const recacheConcurrency of [0, -2, 1.5]) {
      expect(() => cache.invalidating(async () => 1, { recacheConcurrency })).toThrow(RangeError);
      expect(() => cache.invalidating(async () => 1, { recacheConcurrency })).toThrow(/`recacheConcurrency`/);
    }
  });

  it('rejects an invalid tag template where the writer is created', () => {
    const cache = new Cache();
    expect(() => cache.invalidating(async () => 1, { tags: ['user:{}'] })).toThrow(/empty placeholder/);
    expect(() => cache.invalidating(async () => 1, { keys: 'user:{id}' as unknown as string[] })).toThrow(
      /`keys` must be an array/,
    );
    expect(() => cache.invalidating(async () => 1, { recache: {} as unknown as [] })).toThrow(/`recache` must be an array/);
  });

  it('rejects a call missing a field a tag template needs, with a TypeError naming it, before writing', async () => {
    const cache = new Cache();
    const scope = cache.scope<string>('s');
    await scope.set('a', 'a', { tags: ['user:1'] });
    const save = jest.fn(async (_input: { id: number }) => 'saved');
    const write = cache.invalidating(save, { tags: ['user:{userId}'] });

    const error: unknown = await write({ id: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/reads `userId` from the call's object argument/);
    // The cache could not have been invalidated, so the write must not have happened either.
    expect(save).not.toHaveBeenCalled();
    expect(scope.keys()).toEqual(['a']);
  });

  it('rejects a call missing a positional argument a key template needs, before writing', async () => {
    const cache = new Cache();
    const save = jest.fn(async () => 'saved');
    const write = cache.invalidating(save, { keys: ['item:{0}'] });
    await expect(write()).rejects.toThrow(/reads argument \{0\}, but the call has 0/);
    expect(save).not.toHaveBeenCalled();
  });

  it('rejects a tags function that does not return an array of strings', async () => {
    const cache = new Cache();
    const write = cache.invalidating(async (_id: number) => 1, {
      tags: () => 'user:1' as unknown as string[],
    });
    await expect(write(1)).rejects.toThrow(/the `tags` function must return an array of strings/);
  });

  it('rejects a recache target that is not a cached function', () => {
    const plain = async (_input: { userId: number }) => 'x';
    expect(() => recache(plain as never)).toThrow(TypeError);
    expect(() => recache(plain as never)).toThrow(/takes a function made by `cache.cached\(\)`/);
  });

  it('rejects a recache mapping with include when the writer takes no object argument', async () => {
    const cache = new Cache();
    const reader = cache.cached(async (input: { userId: number }) => input.userId, { key: 'u:{userId}' });
    const write = cache.invalidating(async (_id: number) => 1, { recache: [recache(reader, { include: ['userId'] })] });
    await expect(write(1)).rejects.toThrow(/needs the writer to take an object argument/);
  });

  it('rejects a recache include naming a field the writer argument lacks, before writing', async () => {
    const cache = new Cache();
    const reader = cache.cached(async (input: { userId: number }) => input.userId, { key: 'u:{userId}' });
    const save = jest.fn(async (_input: { id: number }) => 1);
    const write = cache.invalidating(save, {
      recache: [recache(reader, { include: ['userId'] })],
    });
    await expect(write({ id: 1 })).rejects.toThrow(/includes `userId`, which the writer's argument lacks/);
    expect(save).not.toHaveBeenCalled();
  });
});
