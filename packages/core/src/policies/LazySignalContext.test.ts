import { LazyAbort } from './LazyAbort';
import { LazySignalContext } from './LazySignalContext';

/** Counts the AbortControllers constructed while it is installed (they still work). */
function countAbortControllers() {
  const Original = AbortController;
  return jest.spyOn(globalThis, 'AbortController').mockImplementation(() => new Original());
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('LazySignalContext', () => {
  it('makes the signal only when `signal` is read', () => {
    const constructed = countAbortControllers();
    const lazy = new LazyAbort();
    const context = new LazySignalContext(lazy);
    expect(constructed).not.toHaveBeenCalled();
    expect(context.signal).toBe(lazy.signal);
    expect(constructed).toHaveBeenCalledTimes(1);
  });

  it("has `signal` as its only own enumerable property, so that spreading it (cockatiel's wrap) keeps the signal", () => {
    const lazy = new LazyAbort();
    const context = new LazySignalContext(lazy);
    expect(Object.keys(context)).toEqual(['signal']);
    const merged = { ...{ signal: new AbortController().signal, attempt: 2 }, ...context };
    expect(merged.signal).toBe(lazy.signal);
    expect(merged.attempt).toBe(2);
  });
});
