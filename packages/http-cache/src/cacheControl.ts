/**
 * The directives of a `Cache-Control` header (RFC 9111 §5.2): lowercase names mapped to their argument
 * (`''` for none). Quoted arguments are unquoted; malformed parts are ignored.
 *
 * @example
 * parseCacheControl('public, max-age=60, no-cache="set-cookie"');
 * // Map { 'public' => '', 'max-age' => '60', 'no-cache' => 'set-cookie' }
 */
export function parseCacheControl(header: string | undefined): Map<string, string> {
  const directives = new Map<string, string>();
  if (header === undefined) return directives;
  // Commas inside a quoted argument do not split directives.
  for (const part of header.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '') continue;
    const raw = eq === -1 ? '' : part.slice(eq + 1).trim();
    directives.set(name, raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1) : raw);
  }
  return directives;
}

/** Renders directives back into a header value, `max-age` last. @internal */
export function formatCacheControl(directives: Map<string, string>): string {
  return [...directives].map(([name, arg]) => (arg === '' ? name : `${name}=${/[\s,"]/.test(arg) ? `"${arg}"` : arg}`)).join(', ');
}
