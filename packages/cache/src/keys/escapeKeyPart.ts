import { describe } from '../options/duration';

const SPECIAL = /[%:{}]/;
const SPECIAL_ALL = /[%:{}]/g;
const ESCAPES: Readonly<Record<string, string>> = { '%': '%25', ':': '%3A', '{': '%7B', '}': '%7D' };
const escapeChar = (c: string): string => ESCAPES[c] as string;

/**
 * One user-provided component of a key or tag (a template value, a scope's namespace, a function's
 * name), written so that it can never be read as more than one component: `%`, `:`, `{` and `}` become
 * `%25`, `%3A`, `%7B` and `%7D`; every other character, letters, digits, `-`, `_`, `.`, `@` and so on,
 * is kept as it is (so `42` and `ann@example.com` encode to themselves). Numbers, bigints and booleans
 * are written with `String()` first.
 *
 * Key templates apply it to every value they are filled with; use it to build by hand a key or a tag
 * that a template would build.
 *
 * @example
 * // the tag `tags: ['org:{org}']` gives a call with { org: 'acme:eu' }
 * await cache.invalidateTags([`org:${escapeKeyPart('acme:eu')}`]); // 'org:acme%3Aeu'
 */
export function escapeKeyPart(part: string | number | bigint | boolean): string {
  switch (typeof part) {
    case 'string':
      return SPECIAL.test(part) ? part.replace(SPECIAL_ALL, escapeChar) : part;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(part);
    default:
      throw new TypeError(`\`escapeKeyPart\` takes a string, number, bigint or boolean, got ${describe(part)}`);
  }
}
