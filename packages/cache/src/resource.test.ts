import { Cache } from './Cache';
import { recache } from './invalidating';

interface Profile {
  userId: number;
  bio: string;
}

/** A `user` resource with three readers (profile, settings, and the bare entity) over a mutable "database". */
function userResource() {
  const cache = new Cache();
  const db = new Map<number, { name: string; theme: string }>([
    [7, { name: 'Ada', theme: 'dark' }],
    [8, { name: 'Bob', theme: 'light' }],
  ]);
  const user = cache.resource('user', 'userId');
  const loadProfile = jest.fn(async ({ userId }: { userId: number }): Promise<Profile> => ({
    userId,
    bio: `${db.get(userId)?.name} bio`,
  }));
  const loadSettings = jest.fn(async ({ userId }: { userId: number }) => ({ theme: db.get(userId)?.theme }));
  const loadUser = jest.fn(async ({ userId }: { userId: number }) => db.get(userId)?.name);
  const getProfile = user.cached(loadProfile, { suffix: 'profile' });
  const getSettings = user.cached(loadSettings, { suffix: 'settings' });
  const getUser = user.cached(loadUser);
  const save = async (input: { userId: number; name?: string; theme?: string }) => {
    const row = db.get(input.userId) ?? { name: '', theme: '' };
    db.set(input.userId, { name: input.name ?? row.name, theme: input.theme ?? row.theme });
    return input.userId;
  };
  const readAll = (userId: number) =>
    Promise.all([getProfile({ userId }), getSettings({ userId }), getUser({ userId })]);
  const loaderCalls = () => [loadProfile, loadSettings, loadUser].map((fn) => fn.mock.calls.length);
  return { cache, db, user, getProfile, getSettings, getUser, loadProfile, save, readAll, loaderCalls };
}

describe('resource: readers', () => {
  it('keys readers `entity.suffix:id` (their scope is `entity.suffix`), or `entity:id` without a suffix', () => {
    const { user, getProfile, getSettings, getUser } = userResource();
    expect(user.entity).toBe('user');
    expect(getProfile.keyFor({ userId: 7 })).toBe('user.profile:7');
    expect(getSettings.keyFor({ userId: 7 })).toBe('user.settings:7');
    expect(getUser.keyFor({ userId: 7 })).toBe('user:7');
    expect([getProfile.scope.name, getSettings.scope.name, getUser.scope.name]).toEqual(['user.profile', 'user.settings', 'user']);
  });

  it('caches reads like cache.cached(): a second read of the same id is a hit', async () => {
    const { readAll, loaderCalls, getProfile } = userResource();
    await readAll(7);
    await expect(readAll(7)).resolves.toEqual([{ userId: 7, bio: 'Ada bio' }, { theme: 'dark' }, 'Ada']);
    expect(loaderCalls()).toEqual([1, 1, 1]);
    expect(getProfile.scope.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('tags every reader entry `entity:id`, so invalidating that tag drops them all and only them', async () => {
    const { cache, user, readAll, loaderCalls, getProfile } = userResource();
    await readAll(7);
    await readAll(8);
    expect(user.tag(7)).toBe('user:7');

    await expect(cache.invalidateTags([user.tag(7)])).resolves.toBe(3);
    expect(getProfile.scope.keys()).toEqual(['8']);
    await readAll(7);
    await readAll(8);
    expect(loaderCalls()).toEqual([3, 3, 3]); // 7 and 8, then 7 again
  });

  it('keeps the entity tag when a reader adds tags of its own (templates or a function)', async () => {
    const cache = new Cache();
    const user = cache.resource('user', 'userId');
    const byTemplate = user.cached(async (q: { userId: number; orgId: number }) => q.userId, {
      suffix: 'membership',
      tags: ['org:{orgId}'],
    });
    const byFn = user.cached(async (q: { userId: number; orgId: number }) => q.orgId, {
      suffix: 'org',
      tags: (q) => [`org:${q.orgId}`],
    });
    const write = user.invalidating(async (_q: { userId: number }) => undefined);
    await byTemplate({ userId: 1, orgId: 9 });
    await byFn({ userId: 1, orgId: 9 });
    await write({ userId: 1 });
    expect(byTemplate.scope.size + byFn.scope.size).toBe(0);
    await byTemplate({ userId: 1, orgId: 9 });
    await byFn({ userId: 1, orgId: 9 });
    expect(await cache.invalidateTags(['org:9'])).toBe(2);
  });

  it('rejects a read whose argument lacks the id field, naming the field', async () => {
    const { getProfile } = userResource();
    const read = getProfile as unknown as (input: { id: number }) => Promise<Profile>;
    await expect(read({ id: 7 })).rejects.toThrow(TypeError);
    await expect(read({ id: 7 })).rejects.toThrow(/reads `userId`/);
  });
});

describe('resource: writers', () => {
  it('invalidates every reader of the written id and leaves other ids cached', async () => {
    const { user, save, readAll, loaderCalls } = userResource();
    const updateUser = user.invalidating(save);
    await readAll(7);
    await readAll(8);

    await expect(updateUser({ userId: 7, name: 'Ada L.', theme: 'sepia' })).resolves.toBe(7);

    await expect(readAll(7)).resolves.toEqual([{ userId: 7, bio: 'Ada L. bio' }, { theme: 'sepia' }, 'Ada L.']);
    await expect(readAll(8)).resolves.toEqual([{ userId: 8, bio: 'Bob bio' }, { theme: 'light' }, 'Bob']);
    expect(loaderCalls()).toEqual([3, 3, 3]); // 7 and 8, then only 7 again
  });

  it('invalidates nothing when the write fails', async () => {
    const { user, readAll, loaderCalls } = userResource();
    const failure = new Error('write refused');
    const updateUser = user.invalidating(async (_input: { userId: number }): Promise<number> => {
      throw failure;
    });
    await readAll(7);
    await expect(updateUser({ userId: 7 })).rejects.toBe(failure);
    await readAll(7);
    expect(loaderCalls()).toEqual([1, 1, 1]);
  });

  it('also invalidates the extra tag templates it is given', async () => {
    const { cache, user, save, readAll, loaderCalls } = userResource();
    const loadMembers = jest.fn(async ({ orgId }: { orgId: number }) => [`members of ${orgId}`]);
    const getMembers = cache.cached(loadMembers, { key: 'members:{orgId}', tags: ['org:{orgId}'] });
    await getMembers({ orgId: 3 });
    await getMembers({ orgId: 4 });
    await readAll(7);

    const moveUser = user.invalidating((input: { userId: number; orgId: number }) => save(input), {
      tags: ['org:{orgId}'],
    });
    await moveUser({ userId: 7, orgId: 3 });

    expect(getMembers.scope.keys()).toEqual(['members:4']);
    await readAll(7);
    expect(loaderCalls()).toEqual([2, 2, 2]); // its own tag is still invalidated
  });

  it('recaches readers through the writer, so the next read is a hit with the new value', async () => {
    const { user, save, getProfile, loadProfile } = userResource();
    await getProfile({ userId: 7 });
    const updateUser = user.invalidating(save, {
      recache: [recache(getProfile, { include: ['userId'] })],
    });
    await updateUser({ userId: 7, name: 'Ada L.' });
    expect(loadProfile).toHaveBeenCalledTimes(2);

    await expect(getProfile({ userId: 7 })).resolves.toEqual({ userId: 7, bio: 'Ada L. bio' });
    expect(loadProfile).toHaveBeenCalledTimes(2);
  });

  it('recaches readers whose arguments come from a function of the writer arguments', async () => {
    const { user, save, getProfile, getSettings, loaderCalls } = userResource();
    const updateUser = user.invalidating(save, {
      recache: [
        recache(getProfile, ([input]: [{ userId: number }]): [{ userId: number }] => [{ userId: input.userId }]),
        recache(getSettings, ([input]: [{ userId: number }]): [{ userId: number }] => [{ userId: input.userId }]),
      ],
      recacheConcurrency: 1,
    });
    await updateUser({ userId: 8, theme: 'blue' });
    expect(loaderCalls()).toEqual([1, 1, 0]);
    await expect(getSettings({ userId: 8 })).resolves.toEqual({ theme: 'blue' });
    expect(loaderCalls()).toEqual([1, 1, 0]);
  });
});

describe('resource: positional id', () => {
  it('reads the id from an argument position, for readers and writers', async () => {
    const cache = new Cache();
    const order = cache.resource('order', 0);
    const lines = new Map<number, string[]>([
      [5, ['apple']],
      [6, ['pear']],
    ]);
    const loadLines = jest.fn(async (id: number) => [...(lines.get(id) ?? [])]);
    const loadOrder = jest.fn(async (id: number, _lang: string) => `order ${id}`);
    const getLines = order.cached(loadLines, { suffix: 'lines' });
    const getOrder = order.cached(loadOrder);
    expect(getLines.keyFor(5)).toBe('order.lines:5');
    expect(getOrder.keyFor(5, 'en')).toBe('order:5');

    const addLine = order.invalidating(async (id: number, item: string) => {
      lines.set(id, [...(lines.get(id) ?? []), item]);
    });
    await getLines(5);
    await getLines(6);
    await getOrder(5, 'en');
    await addLine(5, 'plum');

    await expect(getLines(5)).resolves.toEqual(['apple', 'plum']);
    await expect(getLines(6)).resolves.toEqual(['pear']);
    await getOrder(5, 'en');
    expect(loadLines.mock.calls).toEqual([[5], [6], [5]]);
    expect(loadOrder).toHaveBeenCalledTimes(2);
  });
});

describe('resource: bad input', () => {
  it('rejects an empty entity name or one with braces', () => {
    const cache = new Cache();
    expect(() => cache.resource('', 'userId')).toThrow(TypeError);
    expect(() => cache.resource('', 'userId')).toThrow(/resource name must be a non-empty string/);
    expect(() => cache.resource('user{x}', 'userId')).toThrow(/without braces/);
    expect(() => cache.resource(42 as unknown as string, 'userId')).toThrow(TypeError);
  });

  it('rejects an id that is neither a field name nor an argument position', () => {
    const cache = new Cache();
    for (const id of ['', '{userId}', -1, 1.5]) {
      expect(() => cache.resource('user', id)).toThrow(TypeError);
      expect(() => cache.resource('user', id)).toThrow(/resource id must be a field name or an argument position/);
    }
  });

  it('rejects function tags on a writer, since it always invalidates its own tag', () => {
    const user = new Cache().resource('user', 'userId');
    expect(() =>
      user.invalidating(async (_input: { userId: number }) => 1, { tags: () => ['user:1'] }),
    ).toThrow(TypeError);
    expect(() =>
      user.invalidating(async (_input: { userId: number }) => 1, { tags: () => ['user:1'] }),
    ).toThrow(/give extra `tags` as templates, not a function/);
  });

  it('passes writer options through, so a bad recacheConcurrency is rejected', () => {
    const user = new Cache().resource('user', 'userId');
    expect(() => user.invalidating(async (_input: { userId: number }) => 1, { recacheConcurrency: 0 })).toThrow(
      /`recacheConcurrency` must be a positive integer/,
    );
  });

  it('rejects an empty or non-string suffix', () => {
    const user = new Cache().resource('user', 'userId');
    const read = async ({ userId }: { userId: number }) => userId;
    expect(() => user.cached(read, { suffix: '' })).toThrow(/`suffix` must be a non-empty string/);
    expect(() => user.cached(read, { suffix: 3 as unknown as string })).toThrow(TypeError);
  });
});
