import { describeValue as describe } from '@toolkit/cache';
import type { ErrorMatcher } from './options/ResilientOptions';
import { isResilienceError } from './errors/ResilienceError';

/** True when `error` matches one of `matchers` (an error class via instanceof, or a predicate). @internal */
export function matchesAny(matchers: readonly ErrorMatcher[] | undefined, error: unknown): boolean {
  if (matchers === undefined) return false;
  for (const matcher of matchers) {
    if (isErrorClass(matcher)) {
      if (error instanceof matcher) return true;
    } else if ((matcher as (error: unknown) => boolean)(error)) {
      return true;
    }
  }
  return false;
}

/** Validates a list of matchers, naming the option. @internal */
export function checkMatchers(value: unknown, option: string): readonly ErrorMatcher[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((m) => typeof m !== 'function')) {
    throw new TypeError(`\`${option}\` must be an array of error classes or predicates (error) => boolean, got ${describe(value)}`);
  }
  return value as readonly ErrorMatcher[];
}

/** Classes have a prototype that is not Function.prototype's and a name starting with a capital, or extend Error. */
function isErrorClass(matcher: ErrorMatcher): matcher is abstract new (...args: never[]) => unknown {
  const proto = (matcher as { prototype?: unknown }).prototype;
  if (proto === undefined) return false; // arrow functions have no prototype: a predicate
  return proto instanceof Error || proto === Error.prototype || /^class\s/.test(Function.prototype.toString.call(matcher));
}

/** A rejection raised by the pipeline itself (open circuit, full bulkhead, rate limit). Never retried. @internal */
export function isRejection(error: unknown): boolean {
  return isResilienceError(error) && error.code !== 'E_TIMEOUT';
}
