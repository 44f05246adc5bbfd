import { TTL_DEFAULT, TTL_LONG, TTL_SHORT, cacheConfigFromEnv, ttlBuckets } from './cacheConfigFromEnv';

/** The error `read` throws; fails the test when it throws nothing or an error of another class. */
function errorOf(read: () => unknown, type: typeof TypeError | typeof RangeError = TypeError): Error {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as Error;
  }
  throw new Error(`expected a ${type.name}, but nothing was thrown`);
}

describe('TTL constants', () => {
  it('are the documented defaults in milliseconds', () => {
    expect(TTL_SHORT).toBe(30_000);
    expect(TTL_DEFAULT).toBe(300_000);
    expect(TTL_LONG).toBe(3_600_000);
  });
});

describe('cacheConfigFromEnv', () => {
  it('runs in memory with the documented defaults when nothing is set', () => {
    expect(cacheConfigFromEnv({})).toStrictEqual({
      url: 'mem://',
      backend: { kind: 'memory' },
      prefix: 'svc',
      version: 'v1',
      ttl: { short: 30_000, default: 300_000, long: 3_600_000 },
    });
  });

  it('reads every variable', () => {
    expect(
      cacheConfigFromEnv({
        CACHE_URL: 'rediss://app:s%40cret@cache.internal:6380/2',
        CACHE_PREFIX: 'shop',
        CACHE_VERSION: 'v2',
        CACHE_TTL_SHORT: '15',
        CACHE_TTL_DEFAULT: '10m',
        CACHE_TTL_LONG: '7200',
      }),
    ).toStrictEqual({
      url: 'rediss://app:s%40cret@cache.internal:6380/2',
      backend: { kind: 'redis', host: 'cache.internal', port: 6380, db: 2, username: 'app', password: 's@cret', tls: true },
      prefix: 'shop',
      version: 'v2',
      ttl: { short: 15_000, default: 600_000, long: 7_200_000 },
    });
  });

  describe('URL fallback order', () => {
    it('prefers CACHE_URL over REDIS_URL', () => {
      const config = cacheConfigFromEnv({ CACHE_URL: 'redis://from-cache-url', REDIS_URL: 'redis://from-redis-url' });
      expect(config.url).toBe('redis://from-cache-url');
      expect(config.backend).toMatchObject({ host: 'from-cache-url' });
    });

    it('falls back to REDIS_URL when CACHE_URL is not set', () => {
      const config = cacheConfigFromEnv({ CACHE_URL: undefined, REDIS_URL: 'redis://from-redis-url:6390/1' });
      expect(config.url).toBe('redis://from-redis-url:6390/1');
      expect(config.backend).toStrictEqual({ kind: 'redis', host: 'from-redis-url', port: 6390, db: 1, tls: false });
    });

    it('lets CACHE_URL=mem:// keep the cache in memory even when REDIS_URL is set', () => {
      expect(cacheConfigFromEnv({ CACHE_URL: 'mem://', REDIS_URL: 'redis://r' }).backend).toStrictEqual({ kind: 'memory' });
    });

    it('falls back to mem:// when neither is set', () => {
      expect(cacheConfigFromEnv({ CACHE_PREFIX: 'x' }).backend).toStrictEqual({ kind: 'memory' });
    });

    it('does not fall back to REDIS_URL when CACHE_URL is set but invalid', () => {
      const error = errorOf(() => cacheConfigFromEnv({ CACHE_URL: 'http://x', REDIS_URL: 'redis://r' }));
      expect(error.message).toMatch(/^`CACHE_URL` has the unsupported scheme http:\/\//);
    });

    it('treats an empty CACHE_URL as a mistake, not as unset', () => {
      const error = errorOf(() => cacheConfigFromEnv({ CACHE_URL: '', REDIS_URL: 'redis://r' }));
      expect(error.message).toMatch(/^`CACHE_URL` is empty/);
    });

    it('names REDIS_URL when the value came from there', () => {
      const error = errorOf(() => cacheConfigFromEnv({ REDIS_URL: 'redis://h:0' }));
      expect(error.message).toMatch(/^`REDIS_URL` has the invalid port "0"/);
      expect(errorOf(() => cacheConfigFromEnv({ REDIS_URL: ' ' })).message).toMatch(/^`REDIS_URL` is empty/);
    });
  });

  it('reads a Cluster node list', () => {
    expect(cacheConfigFromEnv({ CACHE_URL: 'redis://node1:6379,node2:6379,node3:6379/0' }).backend).toMatchObject({
      kind: 'cluster',
      nodes: [{ host: 'node1' }, { host: 'node2' }, { host: 'node3' }],
    });
  });

  it('trims surrounding whitespace (a mounted secret often ends with a newline)', () => {
    const config = cacheConfigFromEnv({ CACHE_URL: ' redis://h:6379/0\n', CACHE_PREFIX: 'shop\n', CACHE_VERSION: ' v3 ' });
    expect(config.url).toBe('redis://h:6379/0');
    expect(config.prefix).toBe('shop');
    expect(config.version).toBe('v3');
  });

  it('masks the password when the URL is rejected', () => {
    const error = errorOf(() => cacheConfigFromEnv({ CACHE_URL: 'redis://app:hunter2@h:99999' }));
    expect(error.message).toContain('"redis://app:***@h:99999"');
    expect(error.message).not.toContain('hunter2');
  });

  describe('CACHE_PREFIX and CACHE_VERSION', () => {
    it.each(['myapp', 'my-app', 'my_app', 'my.app', 'App2', 'v1.2.3', '2024-06'])('accept %j', (name) => {
      const config = cacheConfigFromEnv({ CACHE_PREFIX: name, CACHE_VERSION: name });
      expect(config.prefix).toBe(name);
      expect(config.version).toBe(name);
    });

    it.each([
      ['*', 'app*'],
      ['?', 'app?'],
      ['[', 'app[1'],
      [']', 'app]'],
      ['\\', 'app\\x'],
      ['{', 'app{x}'],
      [':', 'app:prod'],
      [' ', 'my app'],
      ['\t', 'my\tapp'],
      ['é', 'café'],
    ])('refuse %j, which could reach another namespace or break keys', (bad, name) => {
      for (const variable of ['CACHE_PREFIX', 'CACHE_VERSION']) {
        const error = errorOf(() => cacheConfigFromEnv({ [variable]: name }));
        expect(error.message).toBe(
          `\`${variable}\` may hold only ASCII letters, digits, '.', '_' and '-' (it is part of every Redis key), ` +
            `got ${JSON.stringify(name)}, which contains ${JSON.stringify(bad)}`,
        );
      }
    });

    it.each(['CACHE_PREFIX', 'CACHE_VERSION'])('refuse an empty %s', (variable) => {
      expect(errorOf(() => cacheConfigFromEnv({ [variable]: '' })).message).toMatch(new RegExp(`^\`${variable}\` is empty`));
      expect(errorOf(() => cacheConfigFromEnv({ [variable]: '  ' })).message).toMatch(new RegExp(`^\`${variable}\` is empty`));
    });
  });

  it('reads process.env by default, when called', () => {
    const saved = { ...process.env };
    try {
      delete process.env.CACHE_URL;
      process.env.REDIS_URL = 'redis://from-process-env:6400';
      process.env.CACHE_PREFIX = 'proc';
      process.env.CACHE_TTL_LONG = '2h';
      const config = cacheConfigFromEnv();
      expect(config.backend).toMatchObject({ host: 'from-process-env', port: 6400 });
      expect(config.prefix).toBe('proc');
      expect(config.ttl.long).toBe(7_200_000);
      expect(ttlBuckets().long).toBe(7_200_000);
    } finally {
      process.env = saved;
    }
  });

  it('reads no environment variable at import time', () => {
    const read: string[] = [];
    const saved = process.env;
    process.env = new Proxy(
      { ...saved },
      {
        get(target, name) {
          if (typeof name === 'string' && name.startsWith('CACHE_')) read.push(name);
          if (name === 'REDIS_URL') read.push(name);
          return Reflect.get(target, name);
        },
      },
    );
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('./cacheConfigFromEnv');
      });
      expect(read).toEqual([]);
      // The proxy does see reads: the check above is not vacuous.
      cacheConfigFromEnv();
      expect(read).toContain('CACHE_URL');
    } finally {
      process.env = saved;
    }
  });
});

describe('ttlBuckets', () => {
  it('gives the default buckets when nothing is set', () => {
    expect(ttlBuckets({})).toStrictEqual({ short: TTL_SHORT, default: TTL_DEFAULT, long: TTL_LONG });
  });

  it('reads each variable into its own bucket', () => {
    expect(ttlBuckets({ CACHE_TTL_SHORT: '1' })).toStrictEqual({ short: 1_000, default: TTL_DEFAULT, long: TTL_LONG });
    expect(ttlBuckets({ CACHE_TTL_DEFAULT: '2' })).toStrictEqual({ short: TTL_SHORT, default: 2_000, long: TTL_LONG });
    expect(ttlBuckets({ CACHE_TTL_LONG: '3' })).toStrictEqual({ short: TTL_SHORT, default: TTL_DEFAULT, long: 3_000 });
  });

  it.each([
    ['300', 300_000],
    ['30', 30_000],
    ['3600', 3_600_000],
    ['1.5', 1_500],
    ['0.25', 250],
    ['0.001', 1],
    ['007', 7_000],
    [' 600\n', 600_000],
  ])('reads the bare number %j as seconds', (value, expected) => {
    expect(ttlBuckets({ CACHE_TTL_DEFAULT: value }).default).toBe(expected);
  });

  it.each([
    ['5m', 300_000],
    ['30s', 30_000],
    ['250ms', 250],
    ['1h', 3_600_000],
    ['2 hours', 7_200_000],
    ['1.5m', 90_000],
    ['1d', 86_400_000],
  ])('reads the duration %j with toMs', (value, expected) => {
    expect(ttlBuckets({ CACHE_TTL_DEFAULT: value }).default).toBe(expected);
  });

  it('does not constrain the order of the buckets', () => {
    expect(ttlBuckets({ CACHE_TTL_DEFAULT: '10' })).toStrictEqual({ short: 30_000, default: 10_000, long: 3_600_000 });
  });

  it.each(['CACHE_TTL_SHORT', 'CACHE_TTL_DEFAULT', 'CACHE_TTL_LONG'])('names %s in its errors, through cacheConfigFromEnv too', (variable) => {
    expect(errorOf(() => ttlBuckets({ [variable]: 'soon' })).message).toMatch(new RegExp(`^\`${variable}\` must be `));
    expect(errorOf(() => cacheConfigFromEnv({ [variable]: 'soon' })).message).toMatch(new RegExp(`^\`${variable}\` must be `));
  });

  it.each(['soon', '5 parsecs', '1e3', '+5', '.5', '5.', '1..2', 'Infinity', 'NaN', '5m30s'])('rejects %j as neither seconds nor a duration', (value) => {
    const error = errorOf(() => ttlBuckets({ CACHE_TTL_SHORT: value }));
    expect(error.message).toBe(
      `\`CACHE_TTL_SHORT\` must be a number of seconds such as "300" or a duration such as "30s", "5m" or "1h", got ${JSON.stringify(value)}`,
    );
  });

  it('rejects an empty value rather than taking the default', () => {
    expect(errorOf(() => ttlBuckets({ CACHE_TTL_LONG: '' })).message).toMatch(/^`CACHE_TTL_LONG` is empty; unset it for the default/);
  });

  it.each(['0', '0.0', '0s', '0ms'])('rejects the zero TTL %j, which the cache would read as "never expires"', (value) => {
    expect(errorOf(() => ttlBuckets({ CACHE_TTL_DEFAULT: value }), RangeError).message).toBe(
      `\`CACHE_TTL_DEFAULT\` must be positive, got ${JSON.stringify(value)} (a TTL of 0 would mean "never expires" to the cache)`,
    );
  });

  it.each(['-5', '-1.5', '-5m'])('rejects the negative TTL %j', (value) => {
    expect(errorOf(() => ttlBuckets({ CACHE_TTL_DEFAULT: value }), RangeError).message).toBe(
      `\`CACHE_TTL_DEFAULT\` must be positive, got ${JSON.stringify(value)}`,
    );
  });

  it('rejects values finer than a millisecond', () => {
    expect(errorOf(() => ttlBuckets({ CACHE_TTL_SHORT: '0.0005' }), RangeError).message).toMatch(
      /^`CACHE_TTL_SHORT` is finer than a millisecond, got "0.0005"; use at most 3 decimals$/,
    );
    expect(errorOf(() => ttlBuckets({ CACHE_TTL_SHORT: '1.5ms' }), RangeError).message).toBe(
      '`CACHE_TTL_SHORT` must be a whole number of milliseconds, got "1.5ms"',
    );
  });

  it('rejects a TTL beyond the safe integer range', () => {
    expect(errorOf(() => ttlBuckets({ CACHE_TTL_LONG: '99999999999999999' }), RangeError).message).toBe(
      '`CACHE_TTL_LONG` is too long, got "99999999999999999"',
    );
  });

  it('keeps the toMs error as the cause', () => {
    const error = errorOf(() => ttlBuckets({ CACHE_TTL_SHORT: 'soon' }));
    expect(error.cause).toBeInstanceOf(TypeError);
    expect((error.cause as Error).message).toContain('`CACHE_TTL_SHORT`');
  });
});
