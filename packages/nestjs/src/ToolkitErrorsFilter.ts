import { Catch, Inject } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { errorResponse } from '@toolkit/http-cache';
import { TOOLKIT_CACHE_OPTIONS } from './tokens';
import type { ToolkitCacheModuleOptions } from './ToolkitCacheModuleOptions';

/**
 * Answers the errors of `resilient()` that reach Nest from a route (open circuit, full bulkhead, rate
 * limit: 503; timeout: 504) with `Retry-After` where known, as `errorResponse()` of `@toolkit/http-cache`
 * says; every other error goes on to Nest's own handling. {@link ToolkitCacheModule} registers it as a
 * global filter (`APP_FILTER`) unless `errors: false`.
 */
@Catch()
export class ToolkitErrorsFilter extends BaseExceptionFilter {
  constructor(
    @Inject(TOOLKIT_CACHE_OPTIONS) private readonly options: ToolkitCacheModuleOptions,
    @Inject(HttpAdapterHost) private readonly adapters: HttpAdapterHost,
  ) {
    super();
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    const { errors = true } = this.options;
    const adapter = this.adapters.httpAdapter;
    const res: unknown = host.switchToHttp().getResponse();
    const mapped = errors === false || host.getType() !== 'http' ? undefined : errorResponse(exception, errors === true ? {} : errors);
    if (mapped === undefined || adapter.isHeadersSent(res)) return super.catch(exception, host);
    for (const [name, value] of Object.entries(mapped.headers)) adapter.setHeader(res, name, String(value));
    adapter.reply(res, mapped.body.toString('utf8'), mapped.status);
  }
}
