/** A compiled glob pattern: `test(text)` tells whether the whole of `text` matches. */
export interface GlobMatcher {
  test(text: string): boolean;
}

/**
 * One run of a pattern between two `*`: its characters, and where it has a `?` (one character, any).
 * `any` is `null` when the run has no `?`, so that it is found with the string's own `indexOf`.
 */
interface Run {
  readonly chars: string;
  readonly any: readonly boolean[] | null;
}

/**
 * Compiles a glob pattern, the one rule of `deleteMatch` everywhere (L1, backplane, every store): `*`
 * matches any run of characters (none included), `?` exactly one, `\x` the character x itself, and every
 * other character is literal (`[`, `]`, `{`, `.` included). Use {@link escapeGlob} to put user input in a
 * pattern as literal text.
 *
 * Matching never backtracks: the runs between stars are found left to right, each at its first place
 * after the previous one, which is enough for `*` and `?`. A test costs at most the key's length times the
 * longest run's, whatever the pattern: no pattern can stall the event loop (a backtracking regular
 * expression takes exponential time on patterns such as `a*a*a*a*a*a*a*a*b`).
 *
 * @example
 * compileGlob('user:*:profile').test('user:42:profile'); // true
 * compileGlob(`${escapeGlob(userInput)}:*`); // userInput's `*` and `?` are literal
 */
export function compileGlob(pattern: string): GlobMatcher {
  if (typeof pattern !== 'string') throw new TypeError(`a glob pattern must be a string, got ${typeof pattern}`);
  const runs: Run[] = [];
  let chars = '';
  let any: boolean[] = [];
  let wild = false;
  const endRun = () => {
    runs.push({ chars, any: wild ? any : null });
    chars = '';
    any = [];
    wild = false;
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      endRun();
      continue;
    }
    const isAny = c === '?';
    // A trailing lone backslash is literal, like any other character.
    chars += c === '\\' && i + 1 < pattern.length ? (pattern[++i] as string) : c;
    any.push(isAny);
    wild ||= isAny;
  }
  endRun();
  return runs.length === 1 ? exact(runs[0] as Run) : starred(runs);
}

/** Escapes glob characters (`*`, `?`, `\`) so that `literal` matches only itself in a pattern. */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?\\]/g, '\\$&');
}

/** A pattern without `*`: the text is exactly one run. */
function exact(run: Run): GlobMatcher {
  if (run.any === null) return { test: (text) => text === run.chars };
  return { test: (text) => text.length === run.chars.length && matchesAt(run, text, 0) };
}

/** A pattern with stars: the first run anchors the start, the last the end, the others float between. */
function starred(runs: readonly Run[]): GlobMatcher {
  const first = runs[0] as Run;
  const last = runs[runs.length - 1] as Run;
  const middle = runs.slice(1, -1).filter((run) => run.chars.length > 0);
  const least = runs.reduce((sum, run) => sum + run.chars.length, 0);
  return {
    test(text) {
      if (text.length < least) return false;
      const end = text.length - last.chars.length;
      if (!matchesAt(first, text, 0) || !matchesAt(last, text, end)) return false;
      let from = first.chars.length;
      for (const run of middle) {
        const at = find(run, text, from, end);
        if (at === -1) return false;
        from = at + run.chars.length;
      }
      return true;
    },
  };
}

/** Whether `run` matches `text` at `at` (a `?` takes any one character). */
function matchesAt(run: Run, text: string, at: number): boolean {
  const { chars, any } = run;
  if (any === null) return text.startsWith(chars, at);
  for (let i = 0; i < chars.length; i++) {
    if (!any[i] && text.charCodeAt(at + i) !== chars.charCodeAt(i)) return false;
  }
  return true;
}

/** The first place at or after `from` where `run` matches and ends by `end`, or -1. */
function find(run: Run, text: string, from: number, end: number): number {
  const last = end - run.chars.length;
  if (run.any === null) {
    const at = text.indexOf(run.chars, from);
    return at !== -1 && at <= last ? at : -1;
  }
  for (let at = from; at <= last; at++) if (matchesAt(run, text, at)) return at;
  return -1;
}
