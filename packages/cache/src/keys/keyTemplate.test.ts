import { compileTemplate, isTemplate } from './keyTemplate';

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
});
