import type { IncomingMessage } from 'node:http';
import { SetMetadata, UseInterceptors, applyDecorators } from '@nestjs/common';
import { INVALIDATE_TAGS } from './metadata';
import { ToolkitCacheInterceptor } from './ToolkitCacheInterceptor';

/** The tags a write route drops: strings with `{param}` placeholders, or a function of the request. */
export type InvalidateTagsSpec<Req = IncomingMessage> = readonly string[] | ((request: Req) => readonly string[]);

/**
 * Drops the cached responses (and `@Cached()` values) carrying these tags, in every process sharing the
 * cache, once the route's handler succeeded with a 2xx and before its response leaves. `{name}`
 * placeholders are filled from the route's params, then its query. Applies {@link ToolkitCacheInterceptor}.
 *
 * @example
 * \@Put(':id')
 * \@InvalidateTags('item:{id}', 'items')
 * update(@Param('id') id: string, @Body() body: Item) { return this.items.save(id, body); }
 */
export function InvalidateTags(...tags: string[]): MethodDecorator & ClassDecorator;
export function InvalidateTags<Req = IncomingMessage>(tags: (request: Req) => readonly string[]): MethodDecorator & ClassDecorator;
export function InvalidateTags(...spec: [(request: never) => readonly string[]] | string[]): MethodDecorator & ClassDecorator {
  const [first] = spec;
  const tags = typeof first === 'function' ? first : spec;
  if (typeof tags !== 'function' && (tags.length === 0 || tags.some((tag) => typeof tag !== 'string'))) {
    throw new TypeError('`@InvalidateTags()` takes one or more tags (strings), or one function of the request returning them');
  }
  return applyDecorators(SetMetadata(INVALIDATE_TAGS, tags), UseInterceptors(ToolkitCacheInterceptor));
}
