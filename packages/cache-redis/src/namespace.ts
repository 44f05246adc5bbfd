import { describeValue } from '@toolkit/cache';

/**
 * Characters a `prefix` or `version` may not contain: `:` (the separator, see below), the glob syntax of
 * `SCAN MATCH` (`*`, `?`, `[`, `]`, `\`), Cluster hash-tag braces (`{`, `}`: they would pin every key of
 * the namespace to one slot), whitespace and control characters.
 */
const FORBIDDEN = /[:*?[\]\\{}\s\p{Cc}]/u;

/**
 * The namespace `${prefix}:${version}:` shared by a store, its backplane and its lock, after checking both
 * parts. Neither may contain `:`: with prefix `app:v1` and version `v2` next to prefix `app` and version
 * `v1`, the namespace `app:v1:` would contain `app:v1:v2:`, and a `deleteByPrefix('')` of one would wipe
 * the other. Without `:` in either part, two different (prefix, version) pairs never share a namespace,
 * and the fixed segment that follows (`e:` entries, `t:` tag versions, `l:` locks) keeps user keys out of
 * the store's own keyspaces whatever characters they contain.
 * @internal
 */
export function namespaceOf(prefix: unknown, version: unknown): string {
  return `${checkPart('prefix', prefix)}:${checkPart('version', version)}:`;
}

function checkPart(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`\`${option}\` must be a non-empty string, got ${describeValue(value)}`);
  }
  const bad = FORBIDDEN.exec(value);
  if (bad !== null) {
    throw new TypeError(
      `\`${option}\` may not contain ${describeValue(bad[0])} (it is part of every Redis key, and ':', '*', '?', '[', ']', '\\', '{', '}' and whitespace mean something there), got ${describeValue(value)}`,
    );
  }
  return value;
}

/** Escapes `SCAN MATCH` glob syntax so that `text` matches itself only. @internal */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Our glob (`*` and `?` wildcards, `\x` the character x, everything else literal, `[` and `]` included)
 * as a `SCAN MATCH` pattern that matches at least the same keys: `?` is widened to `*`, because Redis
 * matches `?` against one byte and a non-ASCII character is several. The caller filters the candidates
 * with `compileGlob` from `@toolkit/cache`, the exact rule L1 applies too.
 * @internal
 */
export function globToScanPattern(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) out += escapeGlob(pattern[++i] as string);
    else if (c === '*' || c === '?') out += '*';
    else out += escapeGlob(c);
  }
  return out;
}
