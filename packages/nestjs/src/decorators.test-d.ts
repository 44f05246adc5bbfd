// Type tests: checked by `pnpm typecheck` (tsc), never run. A @Cached() method keeps its type, and the
// decorators' and the module's options are typed.
import type { IncomingMessage } from 'node:http';
import { CacheResponse } from './CacheResponse';
import { Cached } from './Cached';
import { InvalidateTags } from './InvalidateTags';
import { ToolkitCacheModule } from './ToolkitCacheModule';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_proof?: T) => undefined;

interface Item {
  id: string;
}

class ItemsService {
  @Cached({ ttl: '1m', tags: ['item:{0}'] })
  async find(id: string, lang?: string): Promise<Item> {
    return { id: `${id}${lang ?? ''}` };
  }

  // @ts-expect-error a cached method returns a promise: a sync one would change its type
  @Cached()
  count(): number {
    return 1;
  }
}
assertType<Equal<ItemsService['find'], (id: string, lang?: string) => Promise<Item>>>();

// @ts-expect-error a ttl is a duration
Cached({ ttl: true });

class ItemsController {
  @CacheResponse<IncomingMessage & { params: { id: string } }>({ tags: (request) => [`item:${request.params.id}`], vary: { query: ['page'] } })
  find(): string {
    return 'x';
  }

  @InvalidateTags('item:{id}', 'items')
  save(): string {
    return 'x';
  }

  @InvalidateTags((request: IncomingMessage) => [`user:${String(request.headers['x-user'])}`])
  saveMine(): string {
    return 'x';
  }
}
void ItemsController;

// @ts-expect-error tags are strings
InvalidateTags(1);
// @ts-expect-error unknown module option
ToolkitCacheModule.forRoot({ tll: '30s' });
ToolkitCacheModule.forRootAsync({ inject: ['CONFIG'], useFactory: (config: { ttl: string }) => ({ ttl: config.ttl }) });
