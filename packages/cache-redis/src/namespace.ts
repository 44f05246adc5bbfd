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
