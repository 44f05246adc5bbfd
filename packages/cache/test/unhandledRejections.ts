import { runInThisContext } from 'node:vm';

/**
 * Records unhandled promise rejections during each test of the calling file. Node emits
 * 'unhandledRejection' on the host's `process`; the `process` a Jest test sees is a copy that never
 * receives it, so this listens on the host's. Call once at the top level of a test file.
 */
export function watchUnhandledRejections() {
  const host = runInThisContext('process') as NodeJS.Process;
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => {
    unhandled.push(reason);
  };
  beforeEach(() => {
    unhandled.length = 0;
    host.on('unhandledRejection', record);
  });
  afterEach(() => {
    host.off('unhandledRejection', record);
  });

  /** Lets the real event loop turn (switching to real timers), so that Node reports any unhandled rejection. */
  async function drain(): Promise<void> {
    jest.useRealTimers();
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Checks that no promise rejection went unhandled during the test. */
  async function expectNoUnhandledRejection(): Promise<void> {
    await drain();
    expect(unhandled).toEqual([]);
  }

  return { unhandled, drain, expectNoUnhandledRejection };
}
