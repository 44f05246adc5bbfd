import fc from 'fast-check';
import { escapeKeyPart } from './escapeKeyPart';
import { compileTemplate } from './keyTemplate';
import { propertySettings } from './properties';

// Issue 11, item 4: a template filled with different values never gives the same key. Values are
// compared as templates write them (`String()`): `'1'` and `1` are one value there, by design.

/** Strings built from the characters that matter: the separator, the escape, braces, and plain ones. */
const part = fc.oneof(
  fc.string({ unit: fc.constantFrom(':', '%', '{', '}', '3', 'A', 'a', '-', 'u', 's', 'e', 'r'), maxLength: 6 }),
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -20, max: 20 }),
  fc.constantFrom('acme:user:alice', 'alice:user:x', 'acme', 'x', '%3A', '%253A', ':', ''),
);
const templates = fc.constantFrom('org:{org}:user:{user}', '{org}:{user}', 'x{org}y:{user}z', '{org}:-{user}:{org}', 'a:{org}', '{org}');

describe('key templates (properties)', () => {
  it('escapeKeyPart is injective and leaves no separator or brace', () => {
    fc.assert(
      fc.property(part, part, (a, b) => {
        const ea = escapeKeyPart(a);
        expect(ea === escapeKeyPart(b)).toBe(String(a) === String(b));
        expect(/[:{}]/.test(ea)).toBe(false);
      }),
      propertySettings,
    );
  });

  it('fills one template alike exactly when the values are alike', () => {
    fc.assert(
      fc.property(templates, part, part, part, part, (template, org1, user1, org2, user2) => {
        const fill = compileTemplate(template);
        const usesUser = template.includes('{user}');
        const same = String(org1) === String(org2) && (!usesUser || String(user1) === String(user2));
        expect(fill([{ org: org1, user: user1 }]) === fill([{ org: org2, user: user2 }])).toBe(same);
      }),
      propertySettings,
    );
  });

  it('positional templates too, and the key reads back the values', () => {
    fc.assert(
      fc.property(part, part, (a, b) => {
        const key = compileTemplate('p:{0}:{1}')([a, b]);
        const [, first, second] = key.split(':');
        expect(key.split(':')).toHaveLength(3);
        expect([first, second]).toEqual([escapeKeyPart(a), escapeKeyPart(b)]);
      }),
      propertySettings,
    );
  });
});
