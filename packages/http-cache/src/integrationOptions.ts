import { checkOptionKeys } from '@toolkit/cache';
import { ERROR_RESPONSE_OPTIONS } from './errorResponse';
import { RESPONSE_CACHE_OPTIONS } from './ResponseCacheOptions';

/** The options every framework integration takes besides the response cache's own. */
const OPENING_OPTIONS = { cache: true, env: true, closeCache: true, errors: true } as const;

/**
 * Refuses an option name of a framework integration that is not one (`tll`, `errors.exposeMessages`),
 * with the closest valid name, before any cache or connection is made. The names are the response
 * cache's, `cache`, `env`, `closeCache` and `errors` (whose object is checked too), and the
 * integration's own `extra` ones.
 *
 * @param options the integration's options as given
 * @param owner the integration, for the message: `toolkitCache()`, `@toolkit/fastify`
 * @param extra names the integration accepts besides (Fastify's `register()` options)
 * @throws TypeError naming the unknown option
 * @internal
 */
export function checkIntegrationOptions(options: object, owner: string, extra: Readonly<Record<string, true>> = {}): void {
  checkOptionKeys(options, { ...RESPONSE_CACHE_OPTIONS, ...OPENING_OPTIONS, ...extra }, owner);
  const { errors } = options as { errors?: unknown };
  if (typeof errors === 'object' && errors !== null) checkOptionKeys(errors, ERROR_RESPONSE_OPTIONS, owner, 'errors.');
}
