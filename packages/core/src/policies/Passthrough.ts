/**
 * Carries an error that the pipeline must not act on (`ignoreOn`) through cockatiel's retry and breaker:
 * neither retries nor counts it, and the pipeline unwraps it before the caller (or the fallback) sees it.
 * @internal
 */
export class Passthrough {
  constructor(readonly error: unknown) {}
}

/** True for the error a caller's abort produces (`signal.reason`, a DOMException named AbortError). @internal */
export function isAbort(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/** The error that reports a caller's abort: the signal's reason, or a standard AbortError. @internal */
export function abortError(signal: { readonly reason?: unknown }): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}
