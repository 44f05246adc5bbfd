/**
 * Calls every listener of a set (a copy: a listener may unsubscribe itself). A listener's bug must not
 * stop the others, nor reach ioredis' event loop; it is not hidden either: a process warning
 * (`TOOLKIT_CACHE_LISTENER`).
 * @internal
 */
export function notifyListeners(listeners: ReadonlySet<() => void>): void {
  for (const listener of [...listeners]) {
    try {
      listener();
    } catch (error) {
      process.emitWarning(error instanceof Error ? error : new Error(String(error)), { code: 'TOOLKIT_CACHE_LISTENER' });
    }
  }
}
