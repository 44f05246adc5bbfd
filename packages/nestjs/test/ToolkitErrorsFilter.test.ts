import { Controller, Get, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TimeoutError } from '@toolkit/core';
import { ToolkitCacheModule } from '@toolkit/nestjs';
import type { ToolkitCacheRootOptions } from '@toolkit/nestjs';

@Controller()
class SlowController {
  @Get('timeout')
  timeout(): never {
    throw new TimeoutError({ functionName: 'loadStock', timeoutMs: 2000 });
  }

  @Get('other')
  other(): never {
    throw new Error('not resilient()’s');
  }
}

describe('ToolkitErrorsFilter over a listening Nest app', () => {
  let app: INestApplication | undefined;
  afterEach(() => app?.close());

  async function start(options: ToolkitCacheRootOptions): Promise<string> {
    @Module({ imports: [ToolkitCacheModule.forRoot({ env: false, ...options })], controllers: [SlowController] })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    return app.getUrl();
  }

  it('answers a timeout of resilient() with 504, and leaves other errors to Nest', async () => {
    const url = await start({ errors: { exposeMessage: false } });
    const timeout = await fetch(`${url}/timeout`);
    expect([timeout.status, timeout.headers.get('cache-control'), await timeout.json()]).toEqual([504, 'no-store', { error: 'Gateway Timeout', code: 'E_TIMEOUT' }]);
    const other = await fetch(`${url}/other`);
    expect([other.status, await other.json()]).toEqual([500, { statusCode: 500, message: 'Internal server error' }]);
  });

  it('leaves every error to Nest with errors: false', async () => {
    const url = await start({ errors: false });
    const timeout = await fetch(`${url}/timeout`);
    expect([timeout.status, await timeout.json()]).toEqual([500, { statusCode: 500, message: 'Internal server error' }]);
  });
});
