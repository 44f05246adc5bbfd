import { describe } from '../options/duration';

/** The default `prefix` of a cache, of every Redis part and of `CACHE_PREFIX`: one default everywhere. */
export const DEFAULT_PREFIX = 'svc';
/** The default `version` of a cache, of every Redis part and of `CACHE_VERSION`. */
export const DEFAULT_VERSION = 'v1';

/**
 * Characters a `prefix` or `version` may not contain: `:` (the separator, see below), the glob syntax of
 * `SCAN MATCH` (`*`, `?`, `[`, `]`, `\`), Cluster hash-tag braces (`{`, `}`: they would pin every key of
 * the namespace to one slot), whitespace and control characters.
 */
const FORBIDDEN = /[:*?[\]\\{}\s\p{Cc}]/u;

/**
 * The namespace `${prefix}:${version}:` of a shared store (and its backplane and lock), after checking
 * both parts; entries live under `${namespace}e:${key}`, tag versions under `t:`, locks under `l:`.
 * Neither part may contain `:`: with prefix `app:v1` and version `v2` next to prefix `app` and version
 * `v1`, the namespace `app:v1:` would contain `app:v1:v2:`, and a `deleteByPrefix('')` of one would wipe
 * the other. Without `:` in either part, two different (prefix, version) pairs never share a namespace,
 * and the fixed segment that follows keeps user keys out of the store's own keyspaces whatever
 * characters they contain.
 *
 * @throws TypeError naming `prefix` or `version` when it is empty, not a string, or holds one of those characters
 */
export function storageNamespace(prefix: unknown, version: unknown): string {
  return `${checkPart('prefix', prefix)}:${checkPart('version', version)}:`;
}

function checkPart(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`\`${option}\` must be a non-empty string, got ${describe(value)}`);
  }
  const bad = FORBIDDEN.exec(value);
  if (bad !== null) {
    throw new TypeError(
      `\`${option}\` may not contain ${describe(bad[0])} (it is part of every Redis key, and ':', '*', '?', '[', ']', '\\', '{', '}' and whitespace mean something there), got ${describe(value)}`,
    );
  }
  return value;
}
