import { storeContract } from '../../test/storeContract';
import { MemoryLock, MemoryStore } from './MemoryStore';

storeContract('MemoryStore', async () => {
  let now = 1_000_000;
  const clock = { now: () => now };
  return {
    store: new MemoryStore({ clock }),
    advance: async (ms) => {
      now += ms;
    },
    now: () => now,
    dispose: async () => undefined,
  };
});

describe('MemoryLock', () => {
  it('is held by one taker until released or expired, and releases only its own hold', async () => {
    let now = 0;
    const lock = new MemoryLock({ clock: { now: () => now } });
    const release = await lock.tryAcquire('k', 1_000);
    expect(release).toBeInstanceOf(Function);
    expect(await lock.tryAcquire('k', 1_000)).toBeUndefined();
    now += 1_000; // expired: a crashed holder's lock frees itself
    const next = await lock.tryAcquire('k', 1_000);
    expect(next).toBeInstanceOf(Function);
    await release?.(); // the first holder's late release must not free the second's
    expect(await lock.tryAcquire('k', 1_000)).toBeUndefined();
    await next?.();
    expect(await lock.tryAcquire('k', 1_000)).toBeInstanceOf(Function);
  });

  it('renews only its own, unexpired hold', async () => {
    let now = 0;
    const lock = new MemoryLock({ clock: { now: () => now } });
    const release = await lock.tryAcquire('k', 1_000);
    now += 900;
    expect(await release?.renew?.(1_000)).toBe(true); // now held until 1_900
    now += 900;
    expect(await lock.tryAcquire('k', 1_000)).toBeUndefined(); // 1_800: still held thanks to the renewal
    now += 100; // 1_900: expired
    expect(await release?.renew?.(1_000)).toBe(false); // too late: it does not come back
    const next = await lock.tryAcquire('k', 1_000);
    expect(next).toBeInstanceOf(Function);
    expect(await release?.renew?.(5_000)).toBe(false); // nor extend the next holder's
    now += 1_000;
    expect(await lock.tryAcquire('k', 1_000)).toBeInstanceOf(Function);
  });
});
