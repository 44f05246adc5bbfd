import { LazyAbort } from './LazyAbort';

/** Counts the AbortControllers constructed while it is installed (they still work). */
function countAbortControllers() {
  const Original = AbortController;
  return jest.spyOn(globalThis, 'AbortController').mockImplementation(() => new Original());
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('LazyAbort', () => {
  it('constructs no AbortController until its signal is read, then one, the same signal on every read', () => {
    const constructed = countAbortControllers();
    const lazy = new LazyAbort();
    expect(lazy.aborted).toBe(false);
    expect(lazy.reason).toBeUndefined();
    expect(lazy.materialized).toBe(false);
    expect(constructed).not.toHaveBeenCalled();
    const signal = lazy.signal;
    expect(constructed).toHaveBeenCalledTimes(1);
    expect(lazy.signal).toBe(signal);
    expect(constructed).toHaveBeenCalledTimes(1);
    expect(signal.aborted).toBe(false);
  });

  it('aborts a signal already read at once, running its listeners, with the reason', () => {
    const lazy = new LazyAbort();
    const onAbort = jest.fn();
    lazy.signal.addEventListener('abort', onAbort);
    const reason = new Error('deadline');
    lazy.abort(reason);
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(lazy.signal.aborted).toBe(true);
    expect(lazy.signal.reason).toBe(reason);
  });

  it('aborted before anyone read it: records the reason without a controller; a later read gives an aborted signal with it', () => {
    const constructed = countAbortControllers();
    const lazy = new LazyAbort();
    const reason = new Error('deadline');
    lazy.abort(reason);
    expect(constructed).not.toHaveBeenCalled();
    expect(lazy.aborted).toBe(true);
    expect(lazy.reason).toBe(reason);
    const signal = lazy.signal;
    expect(constructed).toHaveBeenCalledTimes(1);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
  });

  it('keeps the first reason; without one, aborts with a DOMException named AbortError, the same before and after a read', () => {
    const lazy = new LazyAbort();
    lazy.abort();
    lazy.abort(new Error('second'));
    expect((lazy.reason as DOMException).name).toBe('AbortError');
    expect(lazy.signal.reason).toBe(lazy.reason);
  });
});
