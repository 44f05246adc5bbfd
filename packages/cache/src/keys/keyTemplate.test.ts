import { compileTemplate, isTemplate } from './keyTemplate';
import { escapeKeyPart } from './escapeKeyPart';

describe('compileTemplate', () => {
  it('fills named placeholders from the first object argument', () => {
    const fill = compileTemplate('org:{orgId}:user:{userId}');
    expect(fill([{ orgId: 3, userId: 'ann' }])).toBe('org:3:user:ann');
  });

  it('finds the object argument after leading non-object arguments', () => {
    expect(compileTemplate('user:{userId}')(['ctx', { userId: 9 }])).toBe('user:9');
  });

  it('fills positional placeholders', () => {
    expect(compileTemplate('product:{0}:{1}')([42, 'en'])).toBe('product:42:en');
  });

  it('returns a template without placeholders as it is', () => {
    expect(compileTemplate('config')([1, 2])).toBe('config');
    expect(isTemplate('config')).toBe(false);
    expect(isTemplate('user:{id}')).toBe(true);
  });

  it('says which field is missing and how to fix it', () => {
    const fill = compileTemplate('user:{userId}', 'key template of getUser');
    expect(() => fill([42])).toThrow(/key template of getUser `user:\{userId\}` reads `userId`.*positional placeholder like \{0\}/);
    expect(() => fill([{ id: 1 }])).toThrow(TypeError);
  });

  it('refuses values that would make a meaningless key', () => {
    const fill = compileTemplate('user:{user}');
    expect(() => fill([{ user: { id: 1 } }])).toThrow(/needs a string, number, bigint or boolean for \{user\}, got an object/);
    expect(() => fill([{ user: undefined }])).toThrow(/got undefined/);
  });

  it('rejects a positional placeholder beyond the arguments', () => {
    expect(() => compileTemplate('p:{2}')([1])).toThrow(/reads argument \{2\}, but the call has 1/);
  });

  it('rejects empty templates and empty placeholders at compile time', () => {
    expect(() => compileTemplate('')).toThrow(TypeError);
    expect(() => compileTemplate('user:{}')).toThrow(/empty placeholder/);
  });

  // Issue 11, item 4: values were not escaped, so these two calls shared one entry.
  it('escapes the separator in values, so a value cannot pose as more segments', () => {
    const fill = compileTemplate('org:{org}:user:{user}');
    expect(fill([{ org: 'acme:user:alice', user: 'x' }])).toBe('org:acme%3Auser%3Aalice:user:x');
    expect(fill([{ org: 'acme', user: 'alice:user:x' }])).toBe('org:acme:user:alice%3Auser%3Ax');
  });

  it('keeps plain values as they are, so hand-written keys and tags still match', () => {
    const fill = compileTemplate('user:{id}:{lang}');
    expect(fill([{ id: 42, lang: 'en-GB' }])).toBe('user:42:en-GB');
    expect(fill([{ id: 'ann@example.com', lang: 'x_y.z' }])).toBe('user:ann@example.com:x_y.z');
    expect(compileTemplate('n:{0}')([-1.5e-7])).toBe('n:-1.5e-7');
    expect(compileTemplate('n:{0}')([10n])).toBe('n:10');
  });

  it('escapes the escape character and braces too', () => {
    const fill = compileTemplate('k:{0}');
    expect(fill(['100%'])).toBe('k:100%25');
    expect(fill(['%3A'])).toBe('k:%253A');
    expect(fill(['{id}'])).toBe('k:%7Bid%7D');
  });

  it('refuses two placeholders with no `:` between them, saying how to fix it', () => {
    expect(() => compileTemplate('p:{a}-{b}', 'key template of f')).toThrow(
      'the key template of f `p:{a}-{b}` has no `:` between {a} and {b}, so two calls with different values could fill it alike: ' +
        'separate placeholders with `:`, as in `{a}:{b}`',
    );
    expect(() => compileTemplate('{0}{1}')).toThrow(/has no `:` between \{0\} and \{1\}/);
    expect(compileTemplate('{a}-x:{b}')([{ a: 'a-x', b: 'b' }])).toBe('a-x-x:b');
    expect(compileTemplate('{a}.{a}')([{ a: 'v' }])).toBe('v.v');
  });
});

describe('escapeKeyPart', () => {
  it('writes %, :, { and } as %25, %3A, %7B and %7D, and nothing else', () => {
    expect(escapeKeyPart('a%b:c{d}e')).toBe('a%25b%3Ac%7Bd%7De');
    expect(escapeKeyPart('Plain-text_0.9@x/y|z *?[]')).toBe('Plain-text_0.9@x/y|z *?[]');
    expect(escapeKeyPart(42)).toBe('42');
    expect(escapeKeyPart(false)).toBe('false');
    expect(escapeKeyPart(7n)).toBe('7');
  });

  it('refuses what a template refuses, naming itself', () => {
    expect(() => escapeKeyPart({} as never)).toThrow('`escapeKeyPart` takes a string, number, bigint or boolean, got an object');
  });
});
