import { compileGlob, escapeGlob } from './glob';
import { Cache } from '../Cache';

/**
 * The reference rule, written the slow obvious way (a table over every pattern and text position), to
 * check the fast matcher against: `*` any run, `?` one character, `\x` the character x.
 */
function reference(pattern: string, text: string): boolean {
  const atoms: Array<{ kind: 'star' | 'any' | 'char'; c?: string }> = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) atoms.push({ kind: 'char', c: pattern[++i] as string });
    else if (c === '*') atoms.push({ kind: 'star' });
    else if (c === '?') atoms.push({ kind: 'any' });
    else atoms.push({ kind: 'char', c });
  }
  // can[i][j]: atoms from i match text from j
  const can = Array.from({ length: atoms.length + 1 }, () => new Array<boolean>(text.length + 1).fill(false));
  (can[atoms.length] as boolean[])[text.length] = true;
  for (let i = atoms.length - 1; i >= 0; i--) {
    const atom = atoms[i]!;
    for (let j = text.length; j >= 0; j--) {
      const next = can[i + 1]!;
      const row = can[i]!;
      if (atom.kind === 'star') row[j] = next[j]! || (j < text.length && row[j + 1]!);
      else if (j < text.length && (atom.kind === 'any' || atom.c === text[j])) row[j] = next[j + 1]!;
    }
  }
  return can[0]![0]!;
}

/** A small seeded generator (mulberry32), so a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('compileGlob', () => {
  it.each([
    ['user:*:profile', 'user:42:profile', true],
    ['user:*:profile', 'user::profile', true],
    ['user:*:profile', 'user:42:settings', false],
    ['user:?:profile', 'user:4:profile', true],
    ['user:?:profile', 'user:42:profile', false],
    ['*', '', true],
    ['*', 'anything', true],
    ['a*', 'a', true],
    ['*a', 'ba', true],
    ['*a', 'ab', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['a*ab', 'aab', true],
    ['a*aab', 'aab', false],
    ['user.[1]', 'user.[1]', true],
    ['user.[1]', 'userX[1]', false],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['a\\?', 'a?', true],
    ['a\\?', 'ab', false],
    ['a\\\\b', 'a\\b', true],
    ['trailing\\', 'trailing\\', true],
    ['?', '', false],
    ['', '', true],
    ['', 'x', false],
  ])('%j on %j is %s', (pattern, text, expected) => {
    expect(compileGlob(pattern).test(text)).toBe(expected);
    expect(reference(pattern, text)).toBe(expected);
  });

  it('agrees with the reference rule on 20,000 random patterns and keys (seeded)', () => {
    const seed = 20261203;
    const next = random(seed);
    const pick = (alphabet: string) => alphabet[Math.floor(next() * alphabet.length)] as string;
    const mismatches: Array<{ pattern: string; text: string }> = [];
    for (let n = 0; n < 20_000; n++) {
      let pattern = '';
      for (let i = Math.floor(next() * 9); i > 0; i--) pattern += pick('ab*?\\:');
      let text = '';
      for (let i = Math.floor(next() * 10); i > 0; i--) text += pick('ab:*?\\');
      if (compileGlob(pattern).test(text) !== reference(pattern, text)) mismatches.push({ pattern, text });
    }
    // On failure, the seed above replays the run.
    expect({ seed, mismatches: mismatches.slice(0, 5) }).toEqual({ seed, mismatches: [] });
  });

  it('never stalls: patterns that take a backtracking regex minutes answer at once (a hang guard, not a benchmark)', () => {
    const key = 'a'.repeat(64);
    const hostile = ['a*'.repeat(8) + 'b', '*a'.repeat(40) + '*b', '?*'.repeat(30) + 'b', 'a*'.repeat(500) + 'b'];
    const long = 'a'.repeat(100_000);
    const started = performance.now();
    for (const pattern of hostile) {
      expect(compileGlob(pattern).test(key)).toBe(false);
      expect(compileGlob(pattern).test(long)).toBe(false);
    }
    // The regex we had took 62 s on the first pattern and the 64-character key alone.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('refuses a pattern that is not a string', () => {
    expect(() => compileGlob(5 as never)).toThrow(new TypeError('a glob pattern must be a string, got number'));
  });
});

describe('escapeGlob', () => {
  it('makes user input literal in a pattern', () => {
    for (const literal of ['a*b', 'who?', 'back\\slash', '**', 'plain']) {
      const matcher = compileGlob(`${escapeGlob(literal)}:*`);
      expect(matcher.test(`${literal}:1`)).toBe(true);
      expect(matcher.test(`${literal.replace(/[*?\\]/g, 'x')}x:1`)).toBe(false);
    }
    expect(escapeGlob('a*b?c\\d')).toBe('a\\*b\\?c\\\\d');
  });

  it('deleteMatch with an escaped tenant removes only that tenant\'s keys', async () => {
    const scope = new Cache().scope<number>('s');
    await scope.setMany([
      ['acme*:1', 1],
      ['acme-corp:1', 2],
      ['acme*:2', 3],
    ]);
    expect(await scope.deleteMatch(`${escapeGlob('acme*')}:*`)).toBe(2);
    expect(scope.keys()).toEqual(['acme-corp:1']);
  });
});
