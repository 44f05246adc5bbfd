import { describe } from '../options/duration';
import { escapeKeyPart } from './escapeKeyPart';

/** Fills a key template from a call's arguments. */
export type TemplateFiller = (args: ArrayLike<unknown>) => string;

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * Compiles a template such as `'user:{userId}'` or `'org:{orgId}:user:{userId}'` once. Named
 * placeholders are read from the call's first object argument (`getUser({ userId: 1 })`); numeric ones
 * (`'{0}'`) are positional (`getUser(1)`). Placeholder values must be strings, numbers, bigints or
 * booleans, so a key is never built from `[object Object]` or `undefined`.
 *
 * Values are written with {@link escapeKeyPart} (`:` → `%3A`, `%` → `%25`, `{` → `%7B`, `}` → `%7D`) and
 * the literal text is kept as it is. Two different placeholders must have a `:` somewhere in the literal
 * text between them: then no value holds a `:`, so each value ends a known distance before the next `:`
 * and two calls with different values never fill one template alike. `'{a}-{b}'` is refused (`a-b` +
 * `c` and `a` + `b-c` would share a key).
 *
 * @param template the template
 * @param what where the template comes from, for error messages (e.g. "key template of getUser")
 */
export function compileTemplate(template: string, what = 'key template'): TemplateFiller {
  if (typeof template !== 'string' || template === '') {
    throw new TypeError(`the ${what} must be a non-empty string, got ${describe(template)}`);
  }
  const literals: string[] = [];
  const fields: Array<string | number> = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = (match[1] ?? '').trim();
    if (name === '') throw new TypeError(`the ${what} \`${template}\` has an empty placeholder \`{}\``);
    literals.push(template.slice(last, match.index));
    fields.push(/^\d+$/.test(name) ? Number(name) : name);
    last = (match.index ?? 0) + match[0].length;
  }
  literals.push(template.slice(last));
  if (fields.length === 0) return () => template;
  for (let i = 1; i < fields.length; i++) {
    if (fields[i] !== fields[i - 1] && !(literals[i] ?? '').includes(':')) {
      throw new TypeError(
        `the ${what} \`${template}\` has no \`:\` between {${fields[i - 1]}} and {${fields[i]}}, so two calls with ` +
          `different values could fill it alike: separate placeholders with \`:\`, as in \`{${fields[i - 1]}}:{${fields[i]}}\``,
      );
    }
  }

  return (args) => {
    let out = literals[0] ?? '';
    for (let i = 0; i < fields.length; i++) {
      out += placeholderValue(args, fields[i] as string | number, template, what) + (literals[i + 1] ?? '');
    }
    return out;
  };
}

/** True when a string contains `{placeholders}`. */
export function isTemplate(value: string): boolean {
  return /\{[^{}]*\}/.test(value);
}

function placeholderValue(args: ArrayLike<unknown>, field: string | number, template: string, what: string): string {
  let value: unknown;
  if (typeof field === 'number') {
    if (field >= args.length) {
      throw new TypeError(`the ${what} \`${template}\` reads argument {${field}}, but the call has ${args.length}`);
    }
    value = args[field];
  } else {
    const source = firstObject(args);
    if (source === undefined || !(field in source)) {
      throw new TypeError(
        `the ${what} \`${template}\` reads \`${field}\` from the call's object argument, but none has it: ` +
          `call with an object such as { ${field}: ... }, or use a positional placeholder like {0}`,
      );
    }
    value = source[field];
  }
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'bigint':
    case 'boolean':
      return escapeKeyPart(value);
    default:
      throw new TypeError(
        `the ${what} \`${template}\` needs a string, number, bigint or boolean for {${field}}, got ${describe(value)}`,
      );
  }
}

function firstObject(args: ArrayLike<unknown>): Record<string, unknown> | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg === 'object' && arg !== null && !Array.isArray(arg)) return arg as Record<string, unknown>;
  }
  return undefined;
}
