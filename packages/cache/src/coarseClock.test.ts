import { coarseClock } from './coarseClock';

afterEach(() => {
  jest.useRealTimers();
});

describe('coarseClock', () => {
  it('reads Date.now() once and answers the same value until its 1 ms timer fires', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const clock = coarseClock();
    const spy = jest.spyOn(Date, 'now');
    expect(clock.now()).toBe(1_000_000);
    jest.setSystemTime(1_000_500); // the system time moves, no timer has fired yet
    expect(clock.now()).toBe(1_000_000);
    expect(spy).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(clock.now()).toBe(1_000_501);
    expect(spy).toHaveBeenCalledTimes(2);
  });

  it('follows fake time as it is advanced, however far', async () => {
    jest.useFakeTimers({ now: 5_000 });
    const clock = coarseClock();
    expect(clock.now()).toBe(5_000);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(clock.now()).toBe(65_000);
    await jest.advanceTimersByTimeAsync(3);
    expect(clock.now()).toBe(65_003);
  });

  it('reads afresh when fake timers are installed or removed after it cached a value', () => {
    const clock = coarseClock();
    const real = clock.now();
    expect(Math.abs(real - Date.now())).toBeLessThan(1_000);
    jest.useFakeTimers({ now: 42_000 });
    expect(clock.now()).toBe(42_000);
    jest.useRealTimers();
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1_000);
  });

  it('re-arms one timer instead of creating one per read', async () => {
    jest.useFakeTimers({ now: 0 });
    const clock = coarseClock();
    const created = jest.spyOn(globalThis, 'setTimeout');
    clock.now();
    for (let i = 0; i < 100; i++) {
      await jest.advanceTimersByTimeAsync(1);
      clock.now();
    }
    // The spy is in place before the first read, so it sees every creation: one, then refresh() only.
    expect(created).toHaveBeenCalledTimes(1);
  });

  it('keeps no process alive: its timer is unref\'d', () => {
    const clock = coarseClock();
    const created = jest.spyOn(globalThis, 'setTimeout');
    clock.now();
    const timer = created.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    created.mockRestore();
  });
});
